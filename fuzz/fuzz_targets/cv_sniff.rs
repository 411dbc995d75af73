//! Any bytes and any file name handed to the CV upload: checking returns a
//! document or an error, never panics, and what it accepts obeys the rules
//! of the display name and the type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_core::documents::{CvPolicy, MAX_NAME_BYTES, display_name};

fuzz_target!(|input: (&str, &[u8])| {
    let (name, body) = input;
    if let Ok(shown) = display_name(name) {
        assert!(!shown.is_empty() && shown.len() <= MAX_NAME_BYTES);
        assert!(!shown.contains(['/', '\\', '\0']));
        assert!(!shown.chars().any(char::is_control));
    }
    // Small limits, so that the archive checks are reached by small inputs.
    let policy = CvPolicy {
        max_bytes: 64 * 1024,
        max_zip_entries: 16,
        max_inflated_bytes: 1024 * 1024,
        ..CvPolicy::default()
    };
    let sniffed = policy.sniff(body);
    if let Ok(checked) = policy.check(body, name) {
        assert_eq!(sniffed.ok(), Some(checked.kind()));
        assert_eq!(checked.bytes(), body);
        assert_eq!(
            display_name(name).ok().as_deref(),
            Some(checked.display_name())
        );
    }
});
