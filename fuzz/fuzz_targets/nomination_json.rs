//! Any bytes handed to the nomination form: parsing and validation return
//! values or errors, never panic, and accepted text is in NFC.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_core::Nomination;
use roster_core::model::Checks;
use chrono::NaiveDate;
use roster_core::error::Field;
use roster_core::taxonomy::Taxonomy;

fuzz_target!(|data: &[u8]| {
    let Ok(mut nomination) = serde_json::from_slice::<Nomination>(data) else {
        return;
    };
    let checks = Checks {
        taxonomy: Taxonomy::current(),
        today: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        phone_region: Some("TH"),
    };
    let errors = nomination.expert.validate(&Field::new("expert"), &checks);
    if errors.is_empty() {
        let name = nomination.expert.name.display();
        assert!(!name.is_empty());
        let _ = nomination.expert.name.sort_key();
        let _ = nomination.expert.identity_key();
    }
});
