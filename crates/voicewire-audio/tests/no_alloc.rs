//! Proves the real-time paths (capture push, playout pull, level metering) never allocate.
//!
//! A counting global allocator counts allocations made by the current thread while a
//! thread-local flag is set. The callback work runs on its own thread, as in a real device,
//! while the async side allocates freely on the test thread.
#![allow(unsafe_code)] // The `GlobalAlloc` impl below is inherently unsafe; it only forwards to `System`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use voicewire_audio::*;

struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: thread-locals may already be torn down while a thread exits.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: forwards every call unchanged to the system allocator; the bookkeeping touches
// only const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs `f` with counting on for this thread; returns the allocations it made.
fn allocations_in(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn counting_allocator_sees_allocations() {
    // Guards against a broken harness that would make the real test pass vacuously.
    let n = allocations_in(|| {
        let v: Vec<u8> = Vec::with_capacity(std::hint::black_box(64));
        std::hint::black_box(v);
    });
    assert_eq!(n, 1);
}

#[test]
fn device_callbacks_do_not_allocate() {
    let (mut pipeline, io) = AudioPipeline::new(
        PipelineConfig::default(),
        Some(AudioFormat::new(44_100, 2)),
        Some(AudioFormat::new(48_000, 2)),
    )
    .unwrap();
    let DeviceIo { capture, playout } = io;
    let mut capture = capture.unwrap();
    let mut playout = playout.unwrap();

    let callback = std::thread::spawn(move || {
        let mic_f32 = vec![0.25f32; 441 * 2];
        let mic_i16 = vec![1_000i16; 128 * 2];
        let mut speaker_f32 = vec![0.0f32; 480 * 2];
        let mut speaker_i16 = vec![0i16; 256 * 2];
        let mut standalone_meter = LevelMeter::new(16_000).0;
        let mut played = 0;
        let mut total = 0;
        for round in 0..400 {
            total += allocations_in(|| {
                capture.push(&mic_f32);
                capture.push(&mic_i16);
                played += playout.pull(&mut speaker_f32);
                played += playout.pull(&mut speaker_i16);
                standalone_meter.process_interleaved(&mic_i16, 2);
                standalone_meter.process_silence(160);
            });
            if round % 50 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        (total, played)
    });

    // Meanwhile the async side plays bursts, flushes and reads capture (allocating freely).
    let speech: Vec<i16> = (0..24_000)
        .map(|i| ((i % 200) as i16 - 100) * 100)
        .collect();
    let mut captured = Vec::new();
    for i in 0..40 {
        let _ = pipeline.play(&format!("item_{}", i / 10), &speech[..2_400]);
        if i % 10 == 9 {
            pipeline.flush();
        }
        pipeline.read_capture(&mut captured).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    let (allocations, played) = callback.join().unwrap();
    assert!(played > 0, "the callback thread actually moved audio");
    assert!(!captured.is_empty(), "capture actually flowed");
    assert_eq!(
        allocations, 0,
        "callback paths allocated {allocations} times"
    );
}

#[cfg(feature = "aec")]
#[test]
fn callbacks_with_echo_reference_do_not_allocate() {
    // With echo cancellation on, the playout callback also copies into the reference ring.
    let (mut pipeline, io) = AudioPipeline::new_with_echo_cancellation(
        PipelineConfig::default(),
        AudioFormat::mono(48_000),
        AudioFormat::new(48_000, 2),
    )
    .unwrap();
    let DeviceIo { capture, playout } = io;
    let (mut capture, mut playout) = (capture.unwrap(), playout.unwrap());
    pipeline.play("a", &vec![5_000i16; 24_000]).unwrap();
    let callback = std::thread::spawn(move || {
        let mic = vec![0.1f32; 480];
        let mut speaker = vec![0.0f32; 960];
        let mut played = 0;
        let total: u64 = (0..300)
            .map(|_| {
                allocations_in(|| {
                    capture.push(&mic);
                    played += playout.pull(&mut speaker);
                })
            })
            .sum();
        (total, played)
    });
    let (allocations, played) = callback.join().unwrap();
    let mut wire = Vec::new();
    pipeline.read_capture(&mut wire).unwrap();
    assert!(played > 0 && !wire.is_empty());
    assert_eq!(
        allocations, 0,
        "callback paths allocated {allocations} times"
    );
}

/// The platform devices' callback halves (channel adaptation, level meters) on a leased
/// slot: what the iOS and Android callbacks run, minus the OS.
#[test]
fn platform_callback_halves_do_not_allocate() {
    use voicewire_audio::platform::RealtimeSlots;
    let (mut pipeline, io) = AudioPipeline::new(
        PipelineConfig::default(),
        Some(AudioFormat::new(48_000, 1)),
        Some(AudioFormat::new(48_000, 1)),
    )
    .unwrap();
    let slots = RealtimeSlots::from_io(io);
    let mut capture = slots.capture.lease().unwrap();
    let mut playback = slots.playback.lease().unwrap();
    let speech: Vec<i16> = (0..24_000)
        .map(|i| ((i % 200) as i16 - 100) * 100)
        .collect();
    pipeline.play("item_1", &speech).unwrap();

    let callback = std::thread::spawn(move || {
        // Stereo and mono, f32 and i16, as different routes deliver them.
        let mic_stereo = vec![0.25f32; 480 * 2];
        let mic_mono = vec![1_000i16; 480];
        let mut speaker_stereo = vec![0.0f32; 480 * 2];
        let mut speaker_mono = vec![0i16; 480];
        let mut played = 0;
        let mut total = 0;
        for _ in 0..200 {
            total += allocations_in(|| {
                capture.on_input(&mic_stereo, 2);
                capture.on_input(&mic_mono, 1);
                played += playback.on_output(&mut speaker_stereo, 2);
                played += playback.on_output(&mut speaker_mono, 1);
            });
        }
        (total, played)
    });
    let (allocations, played) = callback.join().unwrap();
    assert!(played > 0, "the playback half actually moved audio");
    let levels = slots.levels.read();
    assert!(levels.input.peak > 0.0, "the capture meter saw the mic");
    assert_eq!(
        allocations, 0,
        "platform callback halves allocated {allocations} times"
    );
}
