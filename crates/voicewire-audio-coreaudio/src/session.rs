//! AVAudioSession: category and mode, activation, routes, and the notifications that feed the
//! shared controller.
//!
//! Objective-C calls are `unsafe` in objc2 (the compiler cannot check the runtime's
//! contracts), so this module allows `unsafe_code`; each block calls one documented
//! AVAudioSession/NSNotificationCenter method with arguments of the declared types.
#![allow(unsafe_code)]

use std::ptr::NonNull;
use std::sync::{Arc, Weak};

use block2::RcBlock;
use objc2::rc::Retained;
use objc2::runtime::{NSObjectProtocol, ProtocolObject};
use objc2_avf_audio::{
    AVAudioSession, AVAudioSessionCategoryOptions, AVAudioSessionCategoryPlayAndRecord,
    AVAudioSessionInterruptionNotification, AVAudioSessionInterruptionOptionKey,
    AVAudioSessionInterruptionOptions, AVAudioSessionInterruptionReason,
    AVAudioSessionInterruptionReasonKey, AVAudioSessionInterruptionType,
    AVAudioSessionInterruptionTypeKey, AVAudioSessionMediaServicesWereResetNotification,
    AVAudioSessionModeVoiceChat, AVAudioSessionPortBluetoothA2DP, AVAudioSessionPortBluetoothHFP,
    AVAudioSessionPortBluetoothLE, AVAudioSessionPortBuiltInMic, AVAudioSessionPortBuiltInReceiver,
    AVAudioSessionPortBuiltInSpeaker, AVAudioSessionPortDescription, AVAudioSessionPortHeadphones,
    AVAudioSessionPortHeadsetMic, AVAudioSessionPortLineOut, AVAudioSessionPortOverride,
    AVAudioSessionPortUSBAudio, AVAudioSessionRouteChangeNotification,
    AVAudioSessionRouteChangeReason, AVAudioSessionRouteChangeReasonKey,
    AVAudioSessionSetActiveOptions,
};
use objc2_foundation::{NSError, NSNotification, NSNotificationCenter, NSNumber, NSString};
use voicewire_audio::platform::{
    AudioRoute, AudioSessionBackend, InterruptionInput, InterruptionSource,
    PlatformAudioController, PlatformError, RouteChangeReason, RouteKind, RouteSnapshot,
    SessionConfig,
};

/// I/O buffer asked of the hardware: 10 ms keeps barge-in snappy without waking the CPU
/// every 5 ms (VoiceProcessingIO works in 10 ms blocks anyway).
const PREFERRED_IO_BUFFER_SECONDS: f64 = 0.01;

fn ns_error(operation: &'static str, error: Retained<NSError>) -> PlatformError {
    PlatformError::backend(operation, error.localizedDescription())
}

fn missing(name: &'static str) -> PlatformError {
    PlatformError::backend("read AVFAudio constant", format!("{name} is not available"))
}

fn session() -> Retained<AVAudioSession> {
    // SAFETY: `sharedInstance` is a documented class method returning the process singleton.
    unsafe { AVAudioSession::sharedInstance() }
}

fn is_port(port_type: &NSString, constant: Option<&'static NSString>) -> bool {
    constant.is_some_and(|c| port_type.isEqualToString(c))
}

/// Maps an AVAudioSession port type to the route kinds we offer.
fn kind_of(port_type: &NSString) -> RouteKind {
    // SAFETY (all reads below): the port type constants are immutable NSString statics
    // exported by AVFAudio.
    unsafe {
        if is_port(port_type, AVAudioSessionPortBuiltInReceiver)
            || is_port(port_type, AVAudioSessionPortBuiltInMic)
        {
            RouteKind::Earpiece
        } else if is_port(port_type, AVAudioSessionPortBuiltInSpeaker) {
            RouteKind::Speaker
        } else if is_port(port_type, AVAudioSessionPortBluetoothHFP)
            || is_port(port_type, AVAudioSessionPortBluetoothA2DP)
            || is_port(port_type, AVAudioSessionPortBluetoothLE)
        {
            RouteKind::Bluetooth
        } else if is_port(port_type, AVAudioSessionPortHeadphones)
            || is_port(port_type, AVAudioSessionPortHeadsetMic)
            || is_port(port_type, AVAudioSessionPortUSBAudio)
            || is_port(port_type, AVAudioSessionPortLineOut)
        {
            RouteKind::Wired
        } else {
            RouteKind::Other
        }
    }
}

fn route_of(port: &AVAudioSessionPortDescription) -> AudioRoute {
    // SAFETY: plain property getters on a port description AVAudioSession handed us.
    let (port_type, uid, name) = unsafe { (port.portType(), port.UID(), port.portName()) };
    AudioRoute::new(kind_of(&port_type), uid.to_string(), name.to_string())
}

/// The app's AVAudioSession, as an [`AudioSessionBackend`].
///
/// Holds no Objective-C objects (it asks `AVAudioSession.sharedInstance()` each time), so it
/// is `Send + Sync` without any unsafe assertion.
#[derive(Debug, Default, Clone, Copy)]
pub struct AvAudioSessionBackend;

impl AvAudioSessionBackend {
    /// The hardware sample rate right now (used to negotiate the client format).
    pub fn hardware_sample_rate(&self) -> f64 {
        // SAFETY: property getter.
        unsafe { session().sampleRate() }
    }

    /// The hardware I/O buffer duration right now, in seconds.
    pub fn io_buffer_duration(&self) -> f64 {
        // SAFETY: property getter.
        unsafe { session().IOBufferDuration() }
    }

    /// The input port of `kind` (and `id`, when given) among the available inputs.
    fn input_port(
        &self,
        kind: RouteKind,
        id: Option<&str>,
    ) -> Option<Retained<AVAudioSessionPortDescription>> {
        // SAFETY: property getter; the array holds port descriptions.
        let inputs = unsafe { session().availableInputs() }?;
        let ports: Vec<_> = inputs.iter().collect();
        let of_kind = |p: &&Retained<AVAudioSessionPortDescription>| {
            // SAFETY: property getter.
            kind_of(&*unsafe { p.portType() }) == kind
        };
        let by_id = id.and_then(|id| {
            ports
                .iter()
                .filter(of_kind)
                // SAFETY: property getter.
                .find(|p| unsafe { p.UID() }.to_string() == id)
                .cloned()
        });
        by_id.or_else(|| ports.iter().find(of_kind).cloned())
    }
}

impl AudioSessionBackend for AvAudioSessionBackend {
    fn configure(&self, config: &SessionConfig) -> Result<(), PlatformError> {
        let mut options = AVAudioSessionCategoryOptions::AllowBluetoothHFP;
        if config.allow_bluetooth_a2dp {
            options |= AVAudioSessionCategoryOptions::AllowBluetoothA2DP;
        }
        // SAFETY: reading immutable NSString statics exported by AVFAudio.
        let (category, mode) = unsafe {
            (
                AVAudioSessionCategoryPlayAndRecord
                    .ok_or_else(|| missing("AVAudioSessionCategoryPlayAndRecord"))?,
                AVAudioSessionModeVoiceChat
                    .ok_or_else(|| missing("AVAudioSessionModeVoiceChat"))?,
            )
        };
        let s = session();
        // SAFETY: documented setters with a valid category, mode and option set.
        unsafe {
            s.setCategory_mode_options_error(category, mode, options)
                .map_err(|e| ns_error("set audio session category", e))?;
            if let Err(e) = s.setPreferredIOBufferDuration_error(PREFERRED_IO_BUFFER_SECONDS) {
                // A preference, not a requirement: keep going with the OS's buffer size.
                tracing::debug!(error = %e.localizedDescription(), "preferred IO buffer refused");
            }
        }
        Ok(())
    }

    fn set_active(&self, active: bool) -> Result<(), PlatformError> {
        let options = if active {
            AVAudioSessionSetActiveOptions::empty()
        } else {
            // Let music the user paused for the conversation come back.
            AVAudioSessionSetActiveOptions::NotifyOthersOnDeactivation
        };
        // SAFETY: documented setter.
        unsafe { session().setActive_withOptions_error(active, options) }.map_err(|e| {
            ns_error(
                if active {
                    "activate audio session"
                } else {
                    "deactivate audio session"
                },
                e,
            )
        })
    }

    fn routes(&self) -> Result<RouteSnapshot, PlatformError> {
        let s = session();
        // SAFETY: property getters; the arrays hold port descriptions.
        let (outputs, inputs) = unsafe { (s.currentRoute().outputs(), s.availableInputs()) };
        let current = outputs.iter().next().map(|p| route_of(&p));
        let mut available: Vec<AudioRoute> = Vec::new();
        let mut push = |r: AudioRoute| {
            if !available.iter().any(|a| a.kind == r.kind && a.id == r.id) {
                available.push(r);
            }
        };
        // SAFETY: reading immutable NSString statics exported by AVFAudio.
        let (receiver, speaker) = unsafe {
            (
                AVAudioSessionPortBuiltInReceiver.map(|s| s.to_string()),
                AVAudioSessionPortBuiltInSpeaker.map(|s| s.to_string()),
            )
        };
        for port in inputs.iter().flat_map(|a| a.iter()) {
            let route = route_of(&port);
            if route.kind == RouteKind::Earpiece {
                // The built-in mic stands for both built-in outputs.
                push(AudioRoute::new(
                    RouteKind::Earpiece,
                    receiver.clone().unwrap_or_else(|| "receiver".into()),
                    "iPhone",
                ));
                push(AudioRoute::new(
                    RouteKind::Speaker,
                    speaker.clone().unwrap_or_else(|| "speaker".into()),
                    "Speaker",
                ));
            } else {
                push(route);
            }
        }
        // Output-only routes (A2DP headphones, AirPlay) are not in availableInputs.
        if let Some(c) = &current {
            push(c.clone());
        }
        Ok(RouteSnapshot { current, available })
    }

    fn apply_route(&self, kind: RouteKind, id: Option<&str>) -> Result<(), PlatformError> {
        let s = session();
        let port_override = if kind == RouteKind::Speaker {
            AVAudioSessionPortOverride::Speaker
        } else {
            AVAudioSessionPortOverride::None
        };
        // SAFETY: documented setter.
        unsafe { s.overrideOutputAudioPort_error(port_override) }
            .map_err(|e| ns_error("override output port", e))?;
        if kind == RouteKind::Speaker {
            return Ok(());
        }
        // The output follows the input for headsets and the receiver: pick the matching mic.
        // (The built-in mic maps to the earpiece kind.)
        let wanted_input = self.input_port(kind, id);
        if let Some(port) = wanted_input {
            // SAFETY: documented setter with a port from availableInputs.
            unsafe { s.setPreferredInput_error(Some(&port)) }
                .map_err(|e| ns_error("set preferred input", e))?;
        }
        Ok(())
    }
}

fn number(note: &NSNotification, key: Option<&'static NSString>) -> Option<usize> {
    let key = key?;
    let info = note.userInfo()?;
    let value = info.objectForKey(key)?;
    let number = value.downcast::<NSNumber>().ok()?;
    Some(number.unsignedIntegerValue())
}

fn route_change_reason(note: &NSNotification) -> RouteChangeReason {
    // SAFETY: reading an immutable NSString static.
    let key = unsafe { AVAudioSessionRouteChangeReasonKey };
    let Some(raw) = number(note, key) else {
        return RouteChangeReason::Other;
    };
    match AVAudioSessionRouteChangeReason(raw) {
        AVAudioSessionRouteChangeReason::NewDeviceAvailable => RouteChangeReason::DeviceConnected,
        AVAudioSessionRouteChangeReason::OldDeviceUnavailable => {
            RouteChangeReason::DeviceDisconnected
        }
        AVAudioSessionRouteChangeReason::Override => RouteChangeReason::Override,
        AVAudioSessionRouteChangeReason::CategoryChange => RouteChangeReason::CategoryChange,
        _ => RouteChangeReason::Other,
    }
}

fn interruption_input(note: &NSNotification) -> Option<InterruptionInput> {
    // SAFETY: reading immutable NSString statics.
    let (type_key, option_key, reason_key) = unsafe {
        (
            AVAudioSessionInterruptionTypeKey,
            AVAudioSessionInterruptionOptionKey,
            AVAudioSessionInterruptionReasonKey,
        )
    };
    let kind = AVAudioSessionInterruptionType(number(note, type_key)?);
    if kind == AVAudioSessionInterruptionType::Began {
        // iOS does not say who interrupted ("default" covers a call, Siri, an alarm); the
        // reason is logged for diagnosis only.
        let reason = number(note, reason_key).map(AVAudioSessionInterruptionReason);
        tracing::info!(?reason, "audio session interrupted");
        Some(InterruptionInput::Began(InterruptionSource::Unknown))
    } else {
        let options = AVAudioSessionInterruptionOptions::from_bits_retain(
            number(note, option_key).unwrap_or(0),
        );
        Some(InterruptionInput::Ended {
            should_resume: options.contains(AVAudioSessionInterruptionOptions::ShouldResume),
        })
    }
}

/// The notification observers feeding one controller; removed on drop.
pub(crate) struct SessionObservers {
    tokens: Vec<Retained<ProtocolObject<dyn NSObjectProtocol>>>,
}

// SAFETY: the tokens are only passed back to `NSNotificationCenter::removeObserver`, which is
// documented as thread-safe; nothing else touches them.
unsafe impl Send for SessionObservers {}

impl std::fmt::Debug for SessionObservers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionObservers")
            .field("observers", &self.tokens.len())
            .finish()
    }
}

impl SessionObservers {
    /// Registers for route-change, interruption and media-services-reset notifications. The
    /// blocks hold the controller weakly and run on the posting thread (never the audio thread).
    pub(crate) fn register(controller: &Arc<PlatformAudioController>) -> Self {
        let center = NSNotificationCenter::defaultCenter();
        let mut tokens = Vec::new();
        // SAFETY: reading immutable NSString statics.
        let (route, interruption, reset) = unsafe {
            (
                AVAudioSessionRouteChangeNotification,
                AVAudioSessionInterruptionNotification,
                AVAudioSessionMediaServicesWereResetNotification,
            )
        };
        type Handler = fn(&PlatformAudioController, &NSNotification);
        let handlers: [(Option<&'static NSString>, Handler); 3] = [
            (route, |c, note| c.route_changed(route_change_reason(note))),
            (interruption, |c, note| {
                if let Some(input) = interruption_input(note) {
                    c.handle_interruption(input);
                }
            }),
            (reset, |c, _| {
                c.handle_interruption(InterruptionInput::MediaServicesReset)
            }),
        ];
        for (name, handler) in handlers {
            let Some(name) = name else {
                tracing::warn!("an AVAudioSession notification name is missing");
                continue;
            };
            let weak: Weak<PlatformAudioController> = Arc::downgrade(controller);
            let block = RcBlock::new(move |note: NonNull<NSNotification>| {
                // SAFETY: NSNotificationCenter passes a valid notification for the call.
                let note = unsafe { note.as_ref() };
                if let Some(controller) = weak.upgrade() {
                    handler(&controller, note);
                }
            });
            // SAFETY: documented method; a nil queue runs the block on the posting thread.
            let token = unsafe {
                center.addObserverForName_object_queue_usingBlock(Some(name), None, None, &block)
            };
            tokens.push(token);
        }
        Self { tokens }
    }
}

impl Drop for SessionObservers {
    fn drop(&mut self) {
        let center = NSNotificationCenter::defaultCenter();
        for token in self.tokens.drain(..) {
            // SAFETY: the token came from addObserverForName on the same center.
            unsafe { center.removeObserver(token.as_ref()) };
        }
    }
}
