//! Fuzzes `ServerEvent::decode` (the first thing network input meets) and the invariants
//! around it: no panic on any input; anything that decodes encodes in both dialects; GA
//! output decodes back to the same value; beta output decodes; the audio peek agrees with
//! the full decoder.

#![no_main]

use libfuzzer_sys::fuzz_target;
use voicewire_protocol::{Dialect, ServerEvent, peek_audio_delta};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let decoded = ServerEvent::decode(text);
    if let Ok(event) = &decoded {
        let ga = event.encode(Dialect::Ga).expect("a decoded event encodes (GA)");
        let again = ServerEvent::decode(&ga).expect("GA output decodes");
        assert_eq!(&again, event, "GA round trip changed the event\ninput: {text}\nGA: {ga}");
        let beta = event.encode(Dialect::Beta).expect("a decoded event encodes (beta)");
        ServerEvent::decode(&beta).expect("beta output decodes");
    }
    if let Some(peeked) = peek_audio_delta(text) {
        match decoded {
            Ok(ServerEvent::ResponseOutputAudioDelta(full)) => assert_eq!(full.delta, peeked.delta),
            // The peek is more lenient (ids default to "") so it may read events the full
            // decoder rejects; it must never read anything that decodes as another type.
            Ok(other) => panic!("peek read an audio delta, decode gave {other:?}"),
            Err(_) => {}
        }
    }
});
