use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
enum State {
    Running,
    Stopped,
}

#[derive(MetricsGroup)]
struct Scheduler {
    running: u64,
    state: State,
}

fn main() {
    let scheduler = Scheduler {
        running: 1,
        state: State::Running,
    };
    let _ = metrics_core::json::to_string(&scheduler);
    let _ = Scheduler::SCHEMA;
    let _ = (State::Stopped,);
}
