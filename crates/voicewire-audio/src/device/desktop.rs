//! [`DesktopDevice`]: microphone and speakers through cpal (ALSA, CoreAudio, WASAPI).
//!
//! cpal streams are not `Send` on every platform, so the device keeps only device ids and
//! formats; `start` spawns an audio-control thread that opens the streams, runs them and
//! drops them when `stop` signals. The cpal callbacks call only [`crate::CaptureSink::push`]
//! and [`crate::PlayoutSource::pull`], which never allocate, lock or block.
//!
//! Desktop devices have no platform echo cancellation; see
//! `docs/decisions/0003-audio-threading.md` (echo section) and the `aec` feature.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use crate::device::{AudioDevice, DeviceIo};
use crate::error::AudioError;
use crate::format::{AudioFormat, MAX_CHANNELS};

/// One audio device the host offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesktopDeviceInfo {
    /// Stable identifier to pass to [`DesktopDevice::open`].
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// The device can capture.
    pub is_input: bool,
    /// The device can play.
    pub is_output: bool,
    /// It is the host's default input.
    pub is_default_input: bool,
    /// It is the host's default output.
    pub is_default_output: bool,
}

fn cpal_err(context: &str, e: impl std::fmt::Display) -> AudioError {
    AudioError::device(format!("desktop ({context})"), e)
}

/// Lists the host's audio devices. An empty list (no sound card, as on most CI machines) is
/// not an error.
pub fn list_devices() -> Result<Vec<DesktopDeviceInfo>, AudioError> {
    let host = cpal::default_host();
    let default_in = host
        .default_input_device()
        .and_then(|d| d.id().ok())
        .map(|id| id.to_string());
    let default_out = host
        .default_output_device()
        .and_then(|d| d.id().ok())
        .map(|id| id.to_string());
    let devices = match host.devices() {
        Ok(d) => d,
        Err(e) => {
            tracing::debug!(error = %e, "desktop audio: no devices");
            return Ok(Vec::new());
        }
    };
    let mut out = Vec::new();
    for device in devices {
        let Ok(id) = device.id() else { continue };
        let id = id.to_string();
        let name = device
            .description()
            .map(|d| d.name().to_owned())
            .unwrap_or_else(|_| id.clone());
        out.push(DesktopDeviceInfo {
            is_input: device.supports_input(),
            is_output: device.supports_output(),
            is_default_input: default_in.as_deref() == Some(id.as_str()),
            is_default_output: default_out.as_deref() == Some(id.as_str()),
            name,
            id,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone)]
struct Endpoint {
    id: cpal::DeviceId,
    config: cpal::StreamConfig,
    sample_format: cpal::SampleFormat,
    format: AudioFormat,
}

fn find_device(host: &cpal::Host, wanted: &str) -> Option<cpal::Device> {
    // Ids look like "alsa:null"; accept the full id, the part after the host prefix, or the
    // human-readable name.
    host.devices().ok()?.find(|d| {
        d.id().is_ok_and(|id| {
            let id = id.to_string();
            id == wanted || id.split_once(':').is_some_and(|(_, rest)| rest == wanted)
        }) || d.description().is_ok_and(|desc| desc.name() == wanted)
    })
}

fn endpoint(device: &cpal::Device, input: bool) -> Result<Endpoint, AudioError> {
    let supported = if input {
        device.default_input_config()
    } else {
        device.default_output_config()
    }
    .map_err(|e| cpal_err("default config", e))?;
    let id = device.id().map_err(|e| cpal_err("device id", e))?;
    let mut config = supported.config();
    config.channels = config.channels.min(MAX_CHANNELS);
    let format = AudioFormat::new(config.sample_rate, config.channels).validate()?;
    Ok(Endpoint {
        id,
        config,
        sample_format: supported.sample_format(),
        format,
    })
}

/// A cpal-backed microphone + speaker pair.
#[derive(Debug)]
pub struct DesktopDevice {
    name: String,
    input: Option<Endpoint>,
    output: Option<Endpoint>,
    running: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

impl DesktopDevice {
    /// The host's default input and output (either may be missing; both missing is an error).
    pub fn open_default() -> Result<Self, AudioError> {
        let host = cpal::default_host();
        let input = host
            .default_input_device()
            .map(|d| endpoint(&d, true))
            .transpose()?;
        let output = host
            .default_output_device()
            .map(|d| endpoint(&d, false))
            .transpose()?;
        Self::from_endpoints(input, output)
    }

    /// Specific devices by id (`"alsa:null"`), id without the host prefix (`"null"`) or name
    /// (from [`list_devices`]); `None` skips that direction.
    pub fn open(input: Option<&str>, output: Option<&str>) -> Result<Self, AudioError> {
        let host = cpal::default_host();
        let lookup = |wanted: &str, is_input: bool| -> Result<Endpoint, AudioError> {
            let device = find_device(&host, wanted).ok_or_else(|| {
                AudioError::device("desktop", format!("no device named {wanted:?}"))
            })?;
            endpoint(&device, is_input)
        };
        let input = input.map(|w| lookup(w, true)).transpose()?;
        let output = output.map(|w| lookup(w, false)).transpose()?;
        Self::from_endpoints(input, output)
    }

    fn from_endpoints(
        input: Option<Endpoint>,
        output: Option<Endpoint>,
    ) -> Result<Self, AudioError> {
        if input.is_none() && output.is_none() {
            return Err(AudioError::device(
                "desktop",
                "no input or output device available",
            ));
        }
        let name = format!(
            "desktop(in: {}, out: {})",
            input
                .as_ref()
                .map_or("none".to_owned(), |e| e.id.to_string()),
            output
                .as_ref()
                .map_or("none".to_owned(), |e| e.id.to_string())
        );
        Ok(Self {
            name,
            input,
            output,
            running: None,
        })
    }
}

fn build_streams(
    input: Option<Endpoint>,
    output: Option<Endpoint>,
    io: DeviceIo,
) -> Result<Vec<cpal::Stream>, AudioError> {
    let host = cpal::default_host();
    let timeout = Some(Duration::from_secs(5));
    let mut streams = Vec::new();
    let on_error = |e: cpal::Error| tracing::warn!(error = %e, "desktop audio stream error");
    if let (Some(ep), Some(mut sink)) = (input, io.capture) {
        let device = host
            .device_by_id(&ep.id)
            .ok_or_else(|| cpal_err("input", "device vanished"))?;
        let stream = match ep.sample_format {
            cpal::SampleFormat::F32 => device.build_input_stream::<f32, _, _>(
                ep.config,
                move |data, _| {
                    sink.push(data);
                },
                on_error,
                timeout,
            ),
            cpal::SampleFormat::I16 => device.build_input_stream::<i16, _, _>(
                ep.config,
                move |data, _| {
                    sink.push(data);
                },
                on_error,
                timeout,
            ),
            other => {
                return Err(cpal_err(
                    "input",
                    format!("unsupported sample format {other}"),
                ));
            }
        }
        .map_err(|e| cpal_err("input stream", e))?;
        streams.push(stream);
    }
    if let (Some(ep), Some(mut source)) = (output, io.playout) {
        let device = host
            .device_by_id(&ep.id)
            .ok_or_else(|| cpal_err("output", "device vanished"))?;
        let stream = match ep.sample_format {
            cpal::SampleFormat::F32 => device.build_output_stream::<f32, _, _>(
                ep.config,
                move |data, _| {
                    source.pull(data);
                },
                on_error,
                timeout,
            ),
            cpal::SampleFormat::I16 => device.build_output_stream::<i16, _, _>(
                ep.config,
                move |data, _| {
                    source.pull(data);
                },
                on_error,
                timeout,
            ),
            other => {
                return Err(cpal_err(
                    "output",
                    format!("unsupported sample format {other}"),
                ));
            }
        }
        .map_err(|e| cpal_err("output stream", e))?;
        streams.push(stream);
    }
    for s in &streams {
        s.play().map_err(|e| cpal_err("play", e))?;
    }
    Ok(streams)
}

impl AudioDevice for DesktopDevice {
    fn name(&self) -> &str {
        &self.name
    }

    fn capture_format(&self) -> Option<AudioFormat> {
        self.input.as_ref().map(|e| e.format)
    }

    fn playback_format(&self) -> Option<AudioFormat> {
        self.output.as_ref().map(|e| e.format)
    }

    fn start(&mut self, io: DeviceIo) -> Result<(), AudioError> {
        if self.running.is_some() {
            return Err(AudioError::DeviceState {
                device: self.name.clone(),
                state: "already running",
            });
        }
        let (input, output) = (self.input.clone(), self.output.clone());
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), AudioError>>();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("voicewire-desktop-audio".into())
            .spawn(move || match build_streams(input, output, io) {
                Ok(streams) => {
                    let _ = ready_tx.send(Ok(()));
                    // Park until stop (or the device is dropped); then the streams drop here.
                    let _ = stop_rx.recv();
                    drop(streams);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| AudioError::device(self.name.clone(), e))?;
        match ready_rx.recv() {
            Ok(Ok(())) => {
                self.running = Some((stop_tx, thread));
                Ok(())
            }
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(AudioError::device(
                    self.name.clone(),
                    "audio thread ended during start",
                ))
            }
        }
    }

    fn stop(&mut self) -> Result<(), AudioError> {
        if let Some((stop, thread)) = self.running.take() {
            let _ = stop.send(());
            thread
                .join()
                .map_err(|_| AudioError::device(self.name.clone(), "audio thread panicked"))?;
        }
        Ok(())
    }

    fn is_running(&self) -> bool {
        self.running.is_some()
    }
}

impl Drop for DesktopDevice {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!(error = %e, "desktop audio: stop on drop failed");
        }
    }
}
