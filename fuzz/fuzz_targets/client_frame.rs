//! Fuzz target: shared::untrusted::exercise::client_frame (see there for what it covers).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    quiet_caught_panics();
    shared::untrusted::exercise::client_frame(data);
});

/// libFuzzer's panic hook aborts on every panic, even one our guard catches on purpose; only
/// a panic that escapes the guard (and reaches libFuzzer's own catch) is a crash.
fn quiet_caught_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}
