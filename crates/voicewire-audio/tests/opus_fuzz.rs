//! Opus packets come from the network: random bytes must give an error or audio, never a
//! panic, and the decoder must keep working afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use voicewire_audio::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn random_packets_never_panic(packets in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..6)) {
        let mut decoder = OpusDecoder::new().unwrap();
        let mut out = Vec::new();
        for p in &packets {
            let before = out.len();
            match decoder.decode(p, &mut out) {
                Ok(n) => prop_assert_eq!(out.len() - before, n),
                Err(AudioError::Opus(_)) => prop_assert_eq!(out.len(), before),
                Err(other) => prop_assert!(false, "unexpected error {}", other),
            }
            let _ = decoder.recover_from_fec(p, &mut out);
        }
        // Still decodes real audio after the garbage.
        let mut encoder = OpusEncoder::new(OpusEncoderConfig::default()).unwrap();
        let packet = encoder.encode_frame(&[1_000i16; 960]).unwrap().to_vec();
        prop_assert_eq!(decoder.decode(&packet, &mut out).unwrap(), 960);
    }
}

fn real_packets() -> &'static [Vec<u8>] {
    static PACKETS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    PACKETS.get_or_init(encode_real_packets)
}

fn encode_real_packets() -> Vec<Vec<u8>> {
    let speech: Vec<i16> = (0..48_000)
        .map(|i| {
            ((f64::from(i) * 0.05).sin() * 8_000.0 + (f64::from(i) * 0.31).sin() * 3_000.0) as i16
        })
        .collect();
    let mut encoder = OpusEncoder::new(OpusEncoderConfig::default()).unwrap();
    let mut packets = Vec::new();
    encoder
        .encode_stream(&speech, |p| packets.push(p.to_vec()))
        .unwrap();
    packets
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Corrupted real packets (valid table-of-contents byte, damaged payload, truncation).
    #[test]
    fn corrupted_real_packets_never_panic(
        index in 0usize..20,
        flips in prop::collection::vec((0usize..400, any::<u8>()), 1..8),
        cut in prop::option::of(1usize..200),
    ) {
        let packets = real_packets();
        let mut packet = packets[index].clone();
        for (pos, value) in flips {
            let i = pos % packet.len();
            packet[i] ^= value;
        }
        if let Some(cut) = cut {
            packet.truncate(cut.min(packet.len()));
        }
        let mut decoder = OpusDecoder::new().unwrap();
        let mut out = Vec::new();
        for p in &packets[..index] {
            decoder.decode(p, &mut out).unwrap();
        }
        let _ = decoder.decode(&packet, &mut out);
        let _ = decoder.recover_from_fec(&packet, &mut out);
        prop_assert!(decoder.decode(&packets[(index + 1) % packets.len()], &mut out).is_ok());
    }
}
