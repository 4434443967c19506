//! Flush under real concurrency: a callback thread pulls continuously while the async side
//! queues bursts and flushes. Every frame the callback handed out must be attributed to
//! exactly one item, and nothing flushed may play afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use voicewire_audio::*;

#[test]
fn flush_accounting_is_exact_while_the_callback_runs() {
    let (mut pipeline, io) = AudioPipeline::new(
        PipelineConfig::default(),
        None,
        Some(AudioFormat::new(24_000, 2)),
    )
    .unwrap();
    let mut source = io.playout.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_flag = Arc::clone(&stop);
    // Each item's samples carry its number, so the callback can tell what it played.
    let callback = std::thread::spawn(move || {
        let mut buf = vec![0i16; 2 * 173];
        let mut per_item = vec![0u64; 64];
        let mut total = 0u64;
        while !stop_flag.load(Ordering::Acquire) {
            let n = source.pull(&mut buf);
            for frame in buf[..n * 2].chunks_exact(2) {
                per_item[usize::try_from(frame[0]).unwrap() - 1] += 1;
            }
            total += n as u64;
            std::thread::yield_now();
        }
        // Drain what is left after the last flush/finish.
        loop {
            let n = source.pull(&mut buf);
            if n == 0 {
                break;
            }
            for frame in buf[..n * 2].chunks_exact(2) {
                per_item[usize::try_from(frame[0]).unwrap() - 1] += 1;
            }
            total += n as u64;
        }
        (per_item, total)
    });

    let mut flushed_at: Vec<(usize, u64)> = Vec::new();
    for item in 1..=40usize {
        let id = format!("item_{item}");
        let marker = i16::try_from(item).unwrap();
        for _ in 0..5 {
            pipeline.play(&id, &[marker; 1_200]).unwrap();
            std::thread::sleep(std::time::Duration::from_micros(300));
        }
        if item % 3 == 0 {
            let report = pipeline.flush();
            if let Some(cut) = report.items.iter().find(|i| i.item_id == id) {
                println!(
                    "flush of {item}: played {} of {}",
                    cut.played_wire_samples, cut.received_wire_samples
                );
                flushed_at.push((item, cut.played_wire_samples));
            }
        } else {
            pipeline.finish_item(&id).unwrap();
        }
    }
    stop.store(true, Ordering::Release);
    let (per_item, total) = callback.join().unwrap();

    let mut attributed = 0;
    for item in 1..=40usize {
        let playout = pipeline.item_playout(&format!("item_{item}")).unwrap();
        assert_eq!(
            playout.played_wire_samples,
            per_item[item - 1],
            "item {item}"
        );
        attributed += playout.played_wire_samples;
    }
    assert_eq!(attributed, total);
    // A flushed item never plays another frame after its flush report.
    for (item, at_flush) in flushed_at {
        assert_eq!(
            per_item[item - 1],
            at_flush,
            "item {item} played after its flush"
        );
    }
}
