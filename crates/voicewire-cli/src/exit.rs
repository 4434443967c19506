//! Exit codes and the command-level error.
//!
//! Scripts branch on the exit code, so each code names one thing the caller can do
//! something about: fix the arguments, fix the file, fix the credential, retry later. The
//! table is printed by `voicewire talk --help` and documented in the README.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// Success.
pub const OK: u8 = 0;
/// Anything not listed below.
pub const FAILURE: u8 = 1;
/// Bad arguments: an unknown flag, a malformed URL, options that do not go together, a
/// feature this build does not have (clap also exits with 2 on bad usage).
pub const USAGE: u8 = 2;
/// An input or output file is missing, unreadable, not a usable WAV file, or cannot be written.
pub const FILE: u8 = 3;
/// The credential was refused (or is missing where one is required).
pub const AUTH: u8 = 4;
/// The server could not be reached or the connection was lost.
pub const NETWORK: u8 = 5;
/// The server or token backend is rate limiting.
pub const RATE_LIMITED: u8 = 6;
/// The server sent something unexpected or rejected the session configuration.
pub const PROTOCOL: u8 = 7;
/// The microphone or speaker could not be opened or failed.
pub const AUDIO_DEVICE: u8 = 8;
/// No complete answer arrived within `--timeout`.
pub const TIMEOUT: u8 = 9;
/// Stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

/// The exit-code table as shown in `--help`.
pub const TABLE: &str = "Exit codes: 0 ok, 1 other failure, 2 bad arguments, 3 file problem \
(missing, not a usable WAV, cannot write), 4 credential refused, 5 network, 6 rate limited, \
7 protocol error, 8 audio device, 9 timed out, 130 interrupted.";

/// Why a command failed, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or an unavailable feature.
    #[error("{0}")]
    Usage(String),
    /// A file problem.
    #[error("{0}")]
    File(String),
    /// Timed out waiting for an answer.
    #[error("no complete answer within {} s (raise --timeout)", .0.as_secs())]
    Timeout(Duration),
    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted,
    /// The emulator could not start.
    #[error("the local emulator could not start: {0}")]
    Emulator(#[from] voicewire_server::EmulatorError),
    /// The session or the minting request failed.
    #[error("{0}")]
    Session(#[from] voicewire::Error),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        use voicewire::Error as E;
        match self {
            CliError::Usage(_) => USAGE,
            CliError::File(_) => FILE,
            CliError::Timeout(_) => TIMEOUT,
            CliError::Interrupted => INTERRUPTED,
            CliError::Emulator(_) => FAILURE,
            CliError::Session(e) => match e {
                E::Auth { .. } => AUTH,
                E::Network { .. } => NETWORK,
                E::RateLimited { .. } => RATE_LIMITED,
                E::Protocol { .. } => PROTOCOL,
                E::AudioDevice { .. } => AUDIO_DEVICE,
                E::Closed { .. } => NETWORK,
                _ => FAILURE,
            },
        }
    }

    /// A hint printed under the error, when there is one that helps.
    pub fn hint(&self) -> Option<&'static str> {
        use voicewire::Error as E;
        match self {
            CliError::Session(E::Auth { .. }) => Some(
                "check OPENAI_API_KEY (or the key your server expects); unset it to use the local emulator",
            ),
            CliError::Session(E::Network { .. }) => Some(
                "is the server running and the URL right? (`voicewire serve` starts a local one)",
            ),
            CliError::Session(E::AudioDevice { .. }) => Some(
                "no usable microphone/speaker? use --input speech.wav and --output reply.wav instead",
            ),
            _ => None,
        }
    }

    /// The process exit code.
    pub fn to_exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }
}

/// Prints a failed command's error (and hint) on stderr and turns the result into the
/// process exit code.
pub fn report(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::from(OK),
        Err(error) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error: {error}");
            if let Some(hint) = error.hint() {
                let _ = writeln!(err, "hint: {hint}");
            }
            error.to_exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_errors_map_to_distinct_codes() {
        let auth = CliError::from(voicewire::Error::Auth {
            message: "bad key".into(),
        });
        assert_eq!(auth.exit_code(), AUTH);
        assert!(auth.hint().is_some());
        let net = CliError::from(voicewire::Error::Network {
            message: "refused".into(),
        });
        assert_eq!(net.exit_code(), NETWORK);
        let rate = CliError::from(voicewire::Error::RateLimited {
            retry_after: None,
            message: "slow down".into(),
        });
        assert_eq!(rate.exit_code(), RATE_LIMITED);
        assert_eq!(CliError::Usage("x".into()).exit_code(), USAGE);
        assert_eq!(CliError::File("x".into()).exit_code(), FILE);
        assert_eq!(
            CliError::Timeout(Duration::from_secs(3)).to_string(),
            "no complete answer within 3 s (raise --timeout)"
        );
    }
}
