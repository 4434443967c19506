//! Interruptions (a phone call, Siri, an alarm, another app taking audio focus) and automatic
//! resume.
//!
//! iOS deactivates our audio session when a call comes in and may say "you may resume" when
//! it ends; Android takes audio focus away (for a while, or for good) and may give it back.
//! Both become [`InterruptionInput`]s to [`InterruptionMachine::handle`], which says what to
//! do with the audio engine ([`InterruptionAction`]) and what to tell the app
//! ([`InterruptionEvent`]). Time comes in as an argument: resuming right after a call often
//! fails once (the phone app still holds the hardware), so a failed resume is retried on a
//! backoff driven by [`InterruptionMachine::poll_timeout`] / [`InterruptionMachine::handle_timeout`].
//!
//! ```text
//!   Idle ──engine started──▶ Running ──began──▶ Suspended ──ended(resume) / focus gained──▶ Resuming
//!    ▲                          ▲                  │  │                                       │ │
//!    └──────engine stopped──────┼──────────────────┘  └─ended(no resume) / focus lost for good │ │
//!                               │                       → stays Suspended, app may resume()    │ │
//!                               └───────────────────── resume succeeded ◀──────────────────────┘ │
//!                                         resume failed: retry at now + backoff, give up after N ┘
//! ```

use std::time::{Duration, Instant};

/// Who interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InterruptionSource {
    /// A phone or VoIP call (CallKit, telephony).
    Call,
    /// Siri, Google Assistant or another system voice feature.
    Assistant,
    /// Another app took audio focus for a while (navigation prompt, alarm).
    TransientFocusLoss,
    /// Another app took audio focus for good (the user started music elsewhere).
    PermanentFocusLoss,
    /// The OS did not say.
    Unknown,
}

/// Inputs from the platform and the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterruptionInput {
    /// The audio engine was started by the app.
    EngineStarted,
    /// The audio engine was stopped by the app.
    EngineStopped,
    /// The OS interrupted our audio.
    Began(InterruptionSource),
    /// The OS ended the interruption; `should_resume` is its hint (iOS
    /// `AVAudioSessionInterruptionOptionShouldResume`; Android focus regained = true).
    Ended {
        /// The OS says resuming is appropriate.
        should_resume: bool,
    },
    /// The app asks to resume after an interruption that did not resume on its own.
    ResumeRequested,
    /// The platform tried to resume and it worked.
    ResumeSucceeded,
    /// The platform tried to resume and it failed (session could not be activated).
    ResumeFailed,
    /// The OS's media services restarted (iOS `mediaServicesWereReset`); everything audio
    /// must be rebuilt.
    MediaServicesReset,
}

/// Android audio-focus changes (`AudioManager.OnAudioFocusChangeListener`), which are
/// Android's interruptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FocusChange {
    /// `AUDIOFOCUS_GAIN`: focus is back.
    Gained,
    /// `AUDIOFOCUS_LOSS_TRANSIENT`: a call or another app took focus for a while.
    LostTransient,
    /// `AUDIOFOCUS_LOSS_TRANSIENT_CAN_DUCK`: a short sound plays over us.
    LostCanDuck,
    /// `AUDIOFOCUS_LOSS`: another app took focus for good.
    LostPermanent,
}

impl FocusChange {
    /// The interruption input for this change, or `None` when a conversation should carry on
    /// (a notification sound may duck us; stopping the conversation for it would be worse).
    pub fn to_input(self) -> Option<InterruptionInput> {
        match self {
            Self::Gained => Some(InterruptionInput::Ended {
                should_resume: true,
            }),
            Self::LostTransient => Some(InterruptionInput::Began(
                InterruptionSource::TransientFocusLoss,
            )),
            Self::LostPermanent => Some(InterruptionInput::Began(
                InterruptionSource::PermanentFocusLoss,
            )),
            Self::LostCanDuck => None,
        }
    }
}

/// What the platform must do with the audio engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterruptionAction {
    /// Stop the audio threads but keep the pipeline ends (the OS already stopped the I/O).
    Suspend,
    /// Reactivate the session and restart the audio threads; report the result with
    /// [`InterruptionInput::ResumeSucceeded`] or [`InterruptionInput::ResumeFailed`].
    Resume,
    /// Tear down and rebuild the audio unit/stream and the session configuration, then resume.
    Rebuild,
}

/// What the app is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterruptionEvent {
    /// Audio stopped because of `source`.
    Interrupted {
        /// Who interrupted.
        source: InterruptionSource,
    },
    /// The interruption ended and audio is running again.
    Resumed,
    /// The interruption ended but audio stays off until the app calls resume (the OS did
    /// not allow resuming, or focus was lost for good).
    ResumeNeedsUser,
    /// Resuming failed `attempts` times and was given up; the app may call resume.
    ResumeGaveUp {
        /// Attempts made.
        attempts: u32,
    },
}

/// Where the engine stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterruptionState {
    /// Not started by the app.
    Idle,
    /// Running normally.
    Running,
    /// Stopped by an interruption.
    Suspended {
        /// Who interrupted.
        source: InterruptionSource,
        /// The interruption has ended (we are waiting for the app to resume).
        ended: bool,
    },
    /// A resume was asked of the platform and its result is awaited.
    Resuming {
        /// Attempts so far, counting the one in flight.
        attempt: u32,
    },
    /// Waiting to retry a failed resume.
    RetryWait {
        /// Attempts made so far.
        attempt: u32,
        /// When to try again.
        at: Instant,
    },
}

/// Resume behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumePolicy {
    /// Resume on its own when the OS says so. Off: every interruption ends in
    /// [`InterruptionEvent::ResumeNeedsUser`].
    pub auto_resume: bool,
    /// Total resume attempts before giving up.
    pub max_attempts: u32,
    /// Wait before the first retry; doubles each time.
    pub first_retry: Duration,
    /// Longest wait between retries.
    pub max_retry: Duration,
}

impl Default for ResumePolicy {
    fn default() -> Self {
        Self {
            auto_resume: true,
            max_attempts: 5,
            first_retry: Duration::from_millis(250),
            max_retry: Duration::from_secs(2),
        }
    }
}

/// Outputs of one input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InterruptionOutputs {
    /// Engine actions, in order.
    pub actions: Vec<InterruptionAction>,
    /// App events, in order.
    pub events: Vec<InterruptionEvent>,
}

/// The interruption state machine. See the module docs for the diagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterruptionMachine {
    policy: ResumePolicy,
    state: InterruptionState,
}

impl InterruptionMachine {
    /// An idle machine.
    pub fn new(policy: ResumePolicy) -> Self {
        Self {
            policy,
            state: InterruptionState::Idle,
        }
    }

    /// The current state.
    pub fn state(&self) -> InterruptionState {
        self.state
    }

    /// True while the app wants audio but an interruption keeps it off.
    pub fn is_interrupted(&self) -> bool {
        !matches!(
            self.state,
            InterruptionState::Idle | InterruptionState::Running
        )
    }

    /// When [`Self::handle_timeout`] should be called next, if at all.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            InterruptionState::RetryWait { at, .. } => Some(at),
            _ => None,
        }
    }

    /// Feeds the clock; starts a due resume retry.
    pub fn handle_timeout(&mut self, now: Instant) -> InterruptionOutputs {
        let mut out = InterruptionOutputs::default();
        if let InterruptionState::RetryWait { attempt, at } = self.state
            && now >= at
        {
            self.state = InterruptionState::Resuming {
                attempt: attempt + 1,
            };
            out.actions.push(InterruptionAction::Resume);
        }
        out
    }

    /// Feeds one input at time `now`.
    pub fn handle(&mut self, input: InterruptionInput, now: Instant) -> InterruptionOutputs {
        use InterruptionState as S;
        let mut out = InterruptionOutputs::default();
        match (self.state, input) {
            (_, InterruptionInput::EngineStopped) => self.state = S::Idle,
            (S::Idle, InterruptionInput::EngineStarted) => self.state = S::Running,
            (S::Idle, _) => {}
            (_, InterruptionInput::EngineStarted) => {}

            (S::Running, InterruptionInput::Began(source)) => {
                self.state = S::Suspended {
                    source,
                    ended: false,
                };
                out.actions.push(InterruptionAction::Suspend);
                out.events.push(InterruptionEvent::Interrupted { source });
            }
            // A second interruption while suspended or resuming (Siri during a call, focus
            // lost again): stay off, remember the newest source.
            (S::Suspended { .. }, InterruptionInput::Began(source)) => {
                self.state = S::Suspended {
                    source,
                    ended: false,
                };
            }
            (S::Resuming { .. } | S::RetryWait { .. }, InterruptionInput::Began(source)) => {
                self.state = S::Suspended {
                    source,
                    ended: false,
                };
                out.actions.push(InterruptionAction::Suspend);
                out.events.push(InterruptionEvent::Interrupted { source });
            }

            (S::Suspended { source, .. }, InterruptionInput::Ended { should_resume }) => {
                let permanent = source == InterruptionSource::PermanentFocusLoss;
                if should_resume && self.policy.auto_resume && !permanent {
                    self.state = S::Resuming { attempt: 1 };
                    out.actions.push(InterruptionAction::Resume);
                } else {
                    self.state = S::Suspended {
                        source,
                        ended: true,
                    };
                    out.events.push(InterruptionEvent::ResumeNeedsUser);
                }
            }
            (_, InterruptionInput::Ended { .. }) => {}

            (
                S::Suspended { .. } | S::RetryWait { .. } | S::Running,
                InterruptionInput::ResumeRequested,
            ) => {
                // Running: the app's resume after media services reset or a silent stop is
                // harmless; restart anyway so the app's button always does something.
                self.state = S::Resuming { attempt: 1 };
                out.actions.push(InterruptionAction::Resume);
            }
            (S::Resuming { .. }, InterruptionInput::ResumeRequested) => {}

            (S::Resuming { .. }, InterruptionInput::ResumeSucceeded) => {
                self.state = S::Running;
                out.events.push(InterruptionEvent::Resumed);
            }
            (S::Resuming { attempt }, InterruptionInput::ResumeFailed) => {
                if attempt >= self.policy.max_attempts {
                    self.state = S::Suspended {
                        source: InterruptionSource::Unknown,
                        ended: true,
                    };
                    out.events
                        .push(InterruptionEvent::ResumeGaveUp { attempts: attempt });
                } else {
                    let shift = attempt.saturating_sub(1).min(16);
                    let wait = self
                        .policy
                        .first_retry
                        .saturating_mul(1u32 << shift)
                        .min(self.policy.max_retry);
                    self.state = S::RetryWait {
                        attempt,
                        at: now + wait,
                    };
                }
            }
            (_, InterruptionInput::ResumeSucceeded | InterruptionInput::ResumeFailed) => {}

            (_, InterruptionInput::MediaServicesReset) => {
                // Everything audio is gone; rebuild and come back up (or stay suspended if an
                // interruption is still in force).
                out.actions.push(InterruptionAction::Rebuild);
                if matches!(self.state, S::Suspended { ended: false, .. }) {
                    return out;
                }
                self.state = S::Resuming { attempt: 1 };
                out.actions.push(InterruptionAction::Resume);
            }
        }
        out
    }
}

impl Default for InterruptionMachine {
    fn default() -> Self {
        Self::new(ResumePolicy::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(now: Instant) -> InterruptionMachine {
        let mut m = InterruptionMachine::default();
        m.handle(InterruptionInput::EngineStarted, now);
        assert_eq!(m.state(), InterruptionState::Running);
        m
    }

    #[test]
    fn simulated_phone_call_suspends_and_resumes_automatically() {
        let t0 = Instant::now();
        let mut m = running(t0);
        let out = m.handle(InterruptionInput::Began(InterruptionSource::Call), t0);
        assert_eq!(out.actions, vec![InterruptionAction::Suspend]);
        assert_eq!(
            out.events,
            vec![InterruptionEvent::Interrupted {
                source: InterruptionSource::Call
            }]
        );
        assert!(m.is_interrupted());
        // Siri during the call changes nothing for the engine.
        let out = m.handle(InterruptionInput::Began(InterruptionSource::Assistant), t0);
        assert!(out.actions.is_empty());

        let out = m.handle(
            InterruptionInput::Ended {
                should_resume: true,
            },
            t0,
        );
        assert_eq!(out.actions, vec![InterruptionAction::Resume]);
        let out = m.handle(InterruptionInput::ResumeSucceeded, t0);
        assert_eq!(out.events, vec![InterruptionEvent::Resumed]);
        assert_eq!(m.state(), InterruptionState::Running);
    }

    #[test]
    fn failed_resume_is_retried_on_a_backoff_then_given_up() {
        let t0 = Instant::now();
        let mut m = running(t0);
        m.handle(InterruptionInput::Began(InterruptionSource::Call), t0);
        m.handle(
            InterruptionInput::Ended {
                should_resume: true,
            },
            t0,
        );
        let mut now = t0;
        let mut waits = Vec::new();
        for _ in 0..4 {
            let out = m.handle(InterruptionInput::ResumeFailed, now);
            assert!(out.events.is_empty());
            let at = m.poll_timeout().expect("a retry is scheduled");
            waits.push(at - now);
            // Too early: nothing happens.
            assert!(m.handle_timeout(now).actions.is_empty());
            now = at;
            assert_eq!(
                m.handle_timeout(now).actions,
                vec![InterruptionAction::Resume]
            );
        }
        assert_eq!(
            waits,
            vec![
                Duration::from_millis(250),
                Duration::from_millis(500),
                Duration::from_millis(1000),
                Duration::from_millis(2000),
            ]
        );
        let out = m.handle(InterruptionInput::ResumeFailed, now);
        assert_eq!(
            out.events,
            vec![InterruptionEvent::ResumeGaveUp { attempts: 5 }]
        );
        assert_eq!(m.poll_timeout(), None);
        // The app's resume button still works.
        let out = m.handle(InterruptionInput::ResumeRequested, now);
        assert_eq!(out.actions, vec![InterruptionAction::Resume]);
    }

    #[test]
    fn no_resume_hint_or_permanent_focus_loss_waits_for_the_app() {
        let t0 = Instant::now();
        let mut m = running(t0);
        m.handle(InterruptionInput::Began(InterruptionSource::Call), t0);
        let out = m.handle(
            InterruptionInput::Ended {
                should_resume: false,
            },
            t0,
        );
        assert!(out.actions.is_empty());
        assert_eq!(out.events, vec![InterruptionEvent::ResumeNeedsUser]);

        let mut m = running(t0);
        m.handle(
            InterruptionInput::Began(InterruptionSource::PermanentFocusLoss),
            t0,
        );
        let out = m.handle(
            InterruptionInput::Ended {
                should_resume: true,
            },
            t0,
        );
        assert_eq!(out.events, vec![InterruptionEvent::ResumeNeedsUser]);
    }

    #[test]
    fn interruptions_while_idle_are_ignored_and_stop_clears_everything() {
        let t0 = Instant::now();
        let mut m = InterruptionMachine::default();
        let out = m.handle(InterruptionInput::Began(InterruptionSource::Call), t0);
        assert_eq!(out, InterruptionOutputs::default());
        let mut m = running(t0);
        m.handle(InterruptionInput::Began(InterruptionSource::Call), t0);
        m.handle(InterruptionInput::EngineStopped, t0);
        assert_eq!(m.state(), InterruptionState::Idle);
        let out = m.handle(
            InterruptionInput::Ended {
                should_resume: true,
            },
            t0,
        );
        assert!(out.actions.is_empty());
    }

    #[test]
    fn media_services_reset_rebuilds_then_resumes_unless_still_interrupted() {
        let t0 = Instant::now();
        let mut m = running(t0);
        let out = m.handle(InterruptionInput::MediaServicesReset, t0);
        assert_eq!(
            out.actions,
            vec![InterruptionAction::Rebuild, InterruptionAction::Resume]
        );
        m.handle(InterruptionInput::ResumeSucceeded, t0);
        m.handle(InterruptionInput::Began(InterruptionSource::Call), t0);
        let out = m.handle(InterruptionInput::MediaServicesReset, t0);
        assert_eq!(out.actions, vec![InterruptionAction::Rebuild]);
    }

    #[test]
    fn android_focus_changes_map_to_interruptions() {
        let t0 = Instant::now();
        let mut m = running(t0);
        assert_eq!(FocusChange::LostCanDuck.to_input(), None);
        let out = m.handle(FocusChange::LostTransient.to_input().unwrap(), t0);
        assert_eq!(out.actions, vec![InterruptionAction::Suspend]);
        let out = m.handle(FocusChange::Gained.to_input().unwrap(), t0);
        assert_eq!(out.actions, vec![InterruptionAction::Resume]);
        m.handle(InterruptionInput::ResumeSucceeded, t0);
        m.handle(FocusChange::LostPermanent.to_input().unwrap(), t0);
        // Android does not give focus back after a permanent loss; if a gain arrives anyway
        // (the user came back to the app), it still waits for the app.
        let out = m.handle(FocusChange::Gained.to_input().unwrap(), t0);
        assert_eq!(out.events, vec![InterruptionEvent::ResumeNeedsUser]);
    }

    #[test]
    fn auto_resume_off_always_asks_the_app() {
        let t0 = Instant::now();
        let mut m = InterruptionMachine::new(ResumePolicy {
            auto_resume: false,
            ..ResumePolicy::default()
        });
        m.handle(InterruptionInput::EngineStarted, t0);
        m.handle(
            InterruptionInput::Began(InterruptionSource::TransientFocusLoss),
            t0,
        );
        let out = m.handle(
            InterruptionInput::Ended {
                should_resume: true,
            },
            t0,
        );
        assert_eq!(out.events, vec![InterruptionEvent::ResumeNeedsUser]);
    }
}
