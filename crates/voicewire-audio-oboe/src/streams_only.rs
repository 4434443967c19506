//! The session backend for an AAudio device opened without the app's `AudioManager`.
//!
//! `AudioChoice.PlatformDefault` has to work on Android without a `Context` (React Native
//! opens sessions from JavaScript, which has none to give). The device then runs in
//! [`SessionManagement::App`] mode: the SDK opens voice-communication streams — which is
//! what switches on the platform echo canceller — and leaves `AudioManager` (mode, focus,
//! communication device) to the app. AAudio itself follows the system's routing and reopens
//! its streams when a headset comes or goes; what is missing is route *choice*, which needs
//! the app's session (`AndroidPlatformAudio` in the Kotlin package), so choosing a route
//! here is a typed error that says so.

use voicewire_audio::platform::{
    AudioSessionBackend, PlatformError, RouteKind, RouteSnapshot, SessionConfig,
};

/// The message of every route choice made without the app's session.
pub const NO_SESSION: &str = "this device was opened without the app's audio session \
     (AudioChoice.PlatformDefault); choosing routes needs AndroidPlatformAudio(context)";

/// An [`AudioSessionBackend`] for a device whose session the app owns and did not hand in.
#[derive(Debug, Default, Clone, Copy)]
pub struct StreamsOnlySession;

impl AudioSessionBackend for StreamsOnlySession {
    /// Never called in [`SessionManagement::App`](voicewire_audio::platform::SessionManagement)
    /// mode; accepting keeps a misconfigured controller from failing a start over nothing.
    fn configure(&self, _config: &SessionConfig) -> Result<(), PlatformError> {
        Ok(())
    }

    /// Likewise: the app activates (requests focus for) its own session.
    fn set_active(&self, _active: bool) -> Result<(), PlatformError> {
        Ok(())
    }

    /// Nothing is known about routes without `AudioManager`.
    fn routes(&self) -> Result<RouteSnapshot, PlatformError> {
        Ok(RouteSnapshot::default())
    }

    fn apply_route(&self, _kind: RouteKind, _id: Option<&str>) -> Result<(), PlatformError> {
        Err(PlatformError::backend("choose a route", NO_SESSION))
    }
}

/// The session policy for a device opened without the app's session: the app owns
/// `AudioManager`, voice processing stays on.
pub fn streams_only_config() -> SessionConfig {
    SessionConfig {
        management: voicewire_audio::platform::SessionManagement::App,
        ..SessionConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use voicewire_audio::platform::{PlatformAudioController, RouteSelection};

    use super::*;

    #[test]
    fn choosing_a_route_directly_names_what_is_missing() {
        let refused = StreamsOnlySession
            .apply_route(RouteKind::Speaker, None)
            .expect_err("no session to route with");
        assert!(
            refused.to_string().contains("AndroidPlatformAudio"),
            "{refused}"
        );
        assert_eq!(
            StreamsOnlySession.routes().unwrap(),
            RouteSnapshot::default()
        );
    }

    #[test]
    fn a_streams_only_device_starts_and_refuses_route_choices_clearly() {
        let controller =
            PlatformAudioController::new(streams_only_config(), Arc::new(StreamsOnlySession));
        assert!(controller.config().voice_processing);
        controller.engine_starting().unwrap();
        controller.engine_started();
        assert_eq!(controller.current_route(), None);
        assert!(controller.available_routes().is_empty());
        let refused = controller
            .select_route(RouteSelection::Kind(RouteKind::Speaker))
            .expect_err("no session to route with");
        // Nothing is known to be available, so the route machine refuses before asking.
        assert!(
            matches!(refused, PlatformError::RouteUnavailable(_)),
            "{refused}"
        );
        controller.engine_stopped();
    }
}
