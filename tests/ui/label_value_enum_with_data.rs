use metrics_core::LabelValue;

#[derive(LabelValue)]
enum Method {
    Get,
    Other(String),
}

fn main() {}
