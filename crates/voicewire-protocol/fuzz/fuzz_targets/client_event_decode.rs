//! Fuzzes `ClientEvent::decode` (what the emulator reads from clients) with the same
//! invariants as `server_event_decode`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use voicewire_protocol::{ClientEvent, Dialect};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(event) = ClientEvent::decode(text) {
        let ga = event.encode(Dialect::Ga).expect("a decoded event encodes (GA)");
        let again = ClientEvent::decode(&ga).expect("GA output decodes");
        assert_eq!(again, event, "GA round trip changed the event\ninput: {text}\nGA: {ga}");
        let beta = event.encode(Dialect::Beta).expect("a decoded event encodes (beta)");
        ClientEvent::decode(&beta).expect("beta output decodes");
    }
});
