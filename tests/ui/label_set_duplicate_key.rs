use metrics_core::LabelSet;

#[derive(LabelSet)]
struct Route {
    route: String,
    #[label(rename = "route")]
    path: String,
    #[label(rename = "bad key")]
    method: String,
}

fn main() {}
