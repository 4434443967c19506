//! Audio for VoiceWire: everything between a microphone/speaker and the transports.
//!
//! - [`AudioFrame`] and [`AudioFormat`]: one frame type, one format description. The wire
//!   formats are [`AudioFormat::WIRE_PCM16_24K`] (WebSocket) and [`AudioFormat::OPUS_48K`]
//!   (WebRTC); devices run at whatever they run.
//! - [`AudioDevice`]: the trait platform devices implement; [`DeviceIo`] hands a device the
//!   real-time ends ([`CaptureSink`], [`PlayoutSource`]) which never allocate, lock or block.
//! - [`AudioPipeline`]: the async side, speaking only the wire format: `read_capture`,
//!   `play(item_id, samples)`, `flush()`, `played_ms(item_id)`, `levels()`.
//! - [`StreamResampler`] (rubato, delay-compensated), channel mixing in [`convert`].
//! - Devices: [`FileDevice`], [`NullDevice`], [`ManualDevice`], and with feature `desktop` a
//!   cpal device.
//! - [`OpusEncoder`] / [`OpusDecoder`]: 48 kHz mono, 20 ms, in-band FEC and concealment
//!   (pure Rust; the choice is in `docs/decisions/0002-opus-codec.md`).
//! - [`LevelMeter`]: RMS/peak per 10 ms, smoothed to 0–1, read as a latest value.
//!
//! Features: `desktop` (cpal devices), `aec` (software echo cancellation for devices without
//! platform voice processing; `AudioPipeline::new_with_echo_cancellation`).
//!
//! Threading and ownership are described in `docs/decisions/0003-audio-threading.md`.

#[cfg(feature = "aec")]
pub mod aec;
pub mod capture;
pub mod convert;
pub mod device;
pub mod error;
pub mod format;
pub mod frame;
pub mod levels;
pub mod opus;
pub mod pipeline;
pub mod platform;
pub mod playout;
pub mod resample;

#[cfg(feature = "aec")]
pub use aec::EchoCanceller;
pub use capture::{CaptureReader, CaptureSink};
#[cfg(feature = "desktop")]
pub use device::desktop::{DesktopDevice, DesktopDeviceInfo, list_devices};
pub use device::file::{AfterInput, FileDevice, FileDeviceStepper, FilePace, read_wav, write_wav};
pub use device::manual::{ManualDevice, ManualDeviceHandle};
pub use device::null::NullDevice;
pub use device::{AudioDevice, DeviceIo};
pub use error::AudioError;
pub use format::AudioFormat;
pub use frame::AudioFrame;
pub use levels::{AudioLevels, LevelMeter, LevelReader, LevelReading};
pub use opus::{OpusDecoder, OpusEncoder, OpusEncoderConfig};
pub use pipeline::{AudioPipeline, PipelineConfig, PipelineStats};
pub use playout::{
    FlushReport, ItemPlayout, PlaybackState, PlayoutBuffer, PlayoutConfig, PlayoutSource,
};
pub use resample::StreamResampler;
