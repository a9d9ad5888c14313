use metrics_core::LabelSet;

#[derive(LabelSet)]
struct Route {
    route: String,
    weight: f64,
}

fn main() {}
