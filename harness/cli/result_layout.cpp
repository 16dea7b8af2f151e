#include "harness/cli/result_layout.hpp"

#include <algorithm>

namespace santa::harness::cli {

store::TableLayout make_layout(const spec::Spec& spec, const std::vector<MetricDef>& metrics) {
  store::TableLayout layout;
  for (const auto& def : spec.kind->params) {
    store::Column c;
    c.name = def.name;
    c.type = def.value_type();
    c.role = store::ColumnRole::parameter;
    c.unit = def.unit;
    c.description = def.description;
    layout.columns.push_back(c);
  }
  // Widest text of each text parameter over the whole sweep.
  const int64_t n = spec.point_count();
  for (int64_t i = 0; i < n; ++i) {
    const Point p = spec.point(i);
    for (std::size_t c = 0; c < p.params.size(); ++c) {
      if (const auto* s = std::get_if<std::string>(&p.params[c].value))
        layout.columns[c].text_size = std::max(layout.columns[c].text_size, std::max<std::size_t>(s->size(), 1));
    }
  }
  for (const auto& m : metrics) {
    layout.columns.push_back(store::Column{m.name, ValueType::real, store::ColumnRole::metric, m.unit,
                                           m.description, 0});
  }
  layout.columns.push_back(store::Column{"wall_s", ValueType::real, store::ColumnRole::metric, "s",
                                         "wall time this point took (one thread)", 0});
  return layout;
}

store::ResultData make_result_data(const spec::Spec& spec, const store::TableLayout& layout, const Provenance& prov,
                                   const RunIdentity& run) {
  store::ResultData d;
  d.layout = layout;
  d.set_attribute("format", std::string("santa-results 1"));
  d.set_attribute("name", spec.name);
  d.set_attribute("description", spec.description);
  d.set_attribute("kind", spec.kind->name);
  d.set_attribute("spec_path", spec.path);
  d.set_attribute("spec_text", spec.text);
  d.set_attribute("spec_digest", hex64(spec.digest()));
  d.set_attribute("seed", std::to_string(spec.seed));
  d.set_attribute("replicates", spec.replicates.describe());
  d.set_attribute("replicates_meaning", spec.kind->replicates_meaning);
  d.set_attribute("parameters", spec.describe_parameters());
  d.set_attribute("sweep", spec.describe_sweep());
  d.set_attribute("points_total", spec.point_count());
  d.set_attribute("shard", run.shard);
  d.set_attribute("points_in_run", run.points_in_run);
  d.set_attribute("git_commit", prov.git_commit);
  d.set_attribute("git_dirty", int64_t{prov.git_dirty ? 1 : 0});
  d.set_attribute("host", prov.host);
  d.set_attribute("cpu", prov.cpu);
  d.set_attribute("gpu", prov.gpu);
  d.set_attribute("compiler", prov.compiler);
  d.set_attribute("build_type", prov.build_type);
  d.set_attribute("libraries", prov.libraries);
  d.set_attribute("command", run.command_line);
  d.set_attribute("start_time", utc_now());
  d.set_attribute("end_time", std::string());
  d.set_attribute("status", std::string("running"));
  return d;
}

}  // namespace santa::harness::cli
