//! Property tests: playout accounting stays exact under bursty input, arbitrary device pulls
//! and flushes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};

use proptest::prelude::*;
use voicewire_audio::*;

#[derive(Debug, Clone)]
enum Op {
    Play { item: u8, len: usize },
    Finish { item: u8 },
    Pull { frames: usize },
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 0usize..3_000).prop_map(|(item, len)| Op::Play { item, len }),
        1 => (0u8..3).prop_map(|item| Op::Finish { item }),
        4 => (0usize..2_000).prop_map(|frames| Op::Pull { frames }),
        1 => Just(Op::Flush),
    ]
}

fn id(item: u8) -> String {
    format!("item_{item}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Device at the wire rate: every pulled frame is one wire sample of the front item, so
    /// the model is exact and the buffer must match it sample for sample.
    #[test]
    fn same_rate_accounting_matches_a_sample_model(ops in prop::collection::vec(op(), 1..60)) {
        let (mut pipeline, io) = AudioPipeline::new(
            PipelineConfig::default(), None, Some(AudioFormat::new(24_000, 2))).unwrap();
        let mut source = io.playout.unwrap();
        // Model: queued (item, samples left) in play order, and played samples per item.
        let mut queue: VecDeque<(u8, usize)> = VecDeque::new();
        let mut open: Option<u8> = None;
        let mut played: HashMap<u8, u64> = HashMap::new();
        let mut seen: Vec<u8> = Vec::new();
        let mut buf = vec![0i16; 4_000];
        for op in ops {
            match op {
                Op::Play { item, len } => {
                    let samples = vec![1_000i16; len];
                    pipeline.play(&id(item), &samples).unwrap();
                    if !seen.contains(&item) { seen.push(item); }
                    match queue.back_mut() {
                        Some((last, left)) if *last == item && open == Some(item) => *left += len,
                        _ => queue.push_back((item, len)),
                    }
                    open = Some(item);
                }
                Op::Finish { item } => {
                    let finished = pipeline.finish_item(&id(item)).unwrap();
                    prop_assert_eq!(finished, open == Some(item));
                    if open == Some(item) { open = None; }
                }
                Op::Pull { frames } => {
                    pipeline.pump();
                    let got = source.pull(&mut buf[..frames * 2]);
                    let mut want = frames;
                    let mut model_got = 0;
                    while want > 0 {
                        let Some((item, left)) = queue.front_mut() else { break };
                        let n = want.min(*left);
                        *played.entry(*item).or_default() += n as u64;
                        *left -= n;
                        want -= n;
                        model_got += n;
                        if *left == 0 { queue.pop_front(); }
                    }
                    prop_assert_eq!(got, model_got);
                    prop_assert!(buf[got * 2..frames * 2].iter().all(|&s| s == 0));
                }
                Op::Flush => {
                    let report = pipeline.flush();
                    match (queue.front(), open) {
                        (Some((item, _)), _) => prop_assert_eq!(report.item_id.clone(), Some(id(*item))),
                        (None, Some(item)) => prop_assert_eq!(report.item_id.clone(), Some(id(item))),
                        (None, None) => prop_assert_eq!(report.item_id.clone(), None),
                    }
                    queue.clear();
                    open = None;
                }
            }
            for item in &seen {
                let expected = played.get(item).copied().unwrap_or(0);
                let p = pipeline.item_playout(&id(*item)).unwrap();
                prop_assert_eq!(p.played_wire_samples, expected, "item {}", item);
                prop_assert_eq!(pipeline.played_ms(&id(*item)), Some(expected * 1000 / 24_000));
            }
            match queue.iter().find(|(_, left)| *left > 0) {
                Some((item, _)) => prop_assert_eq!(pipeline.playback_state(), PlaybackState::Playing { item_id: id(*item) }),
                None => prop_assert!(!pipeline.playback_state().is_playing()),
            }
        }
    }

    /// Device at 48 kHz stereo (resampling): played counts only grow, never exceed what was
    /// received, and a finished item that was drained maps back to exactly its samples.
    #[test]
    fn resampled_accounting_is_monotonic_and_complete(
        bursts in prop::collection::vec((0u8..3, 1usize..5_000), 1..12),
        pulls in prop::collection::vec(1usize..3_000, 1..40),
        flush_at in prop::option::of(0usize..40),
    ) {
        let (mut pipeline, io) = AudioPipeline::new(
            PipelineConfig::default(), None, Some(AudioFormat::new(48_000, 2))).unwrap();
        let mut source = io.playout.unwrap();
        for (item, len) in &bursts {
            pipeline.play(&id(*item), &vec![2_000i16; *len]).unwrap();
        }
        let last = id(bursts.last().unwrap().0);
        pipeline.finish_item(&last).unwrap();
        let mut buf = vec![0.0f32; 6_000];
        let mut previous: HashMap<String, u64> = HashMap::new();
        let mut flushed = false;
        for (i, frames) in pulls.iter().enumerate() {
            if flush_at == Some(i) {
                pipeline.flush();
                flushed = true;
            }
            pipeline.pump();
            source.pull(&mut buf[..frames * 2]);
            for (item, _) in &bursts {
                let p = pipeline.item_playout(&id(*item)).unwrap();
                prop_assert!(p.played_wire_samples <= p.received_wire_samples);
                let prev = previous.insert(id(*item), p.played_wire_samples).unwrap_or(0);
                prop_assert!(p.played_wire_samples >= prev, "played count went backwards");
            }
        }
        // Drain whatever is left.
        while source.pull(&mut buf) > 0 {}
        if !flushed {
            let mut total_received = 0;
            let mut total_played = 0;
            for (item, _) in &bursts {
                let p = pipeline.item_playout(&id(*item)).unwrap();
                total_received += p.received_wire_samples;
                total_played += p.played_wire_samples;
            }
            prop_assert_eq!(total_played, total_received);
            prop_assert_eq!(pipeline.underruns(), 0);
        }
        prop_assert_eq!(pipeline.playback_state(), PlaybackState::Idle);
    }
}
