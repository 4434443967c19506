// Idiomatic Swift over the generated bindings (Generated/VoiceWire.swift): async/await comes
// from UniFFI directly; this file adds AsyncStream, closure-based services and an observable
// model for SwiftUI.
import Foundation
#if canImport(Combine)
import Combine
#endif

extension RealtimeVoiceSession {
    /// The session's events, the current state first. Ending the iteration (or cancelling
    /// its task) cancels the subscription.
    public func events() -> AsyncStream<SessionEvent> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            let handle = self.subscribe(listener: StreamListener(continuation))
            continuation.onTermination = { _ in handle.cancel() }
        }
    }
}

private final class StreamListener: SessionEventListener, @unchecked Sendable {
    private let continuation: AsyncStream<SessionEvent>.Continuation
    init(_ continuation: AsyncStream<SessionEvent>.Continuation) { self.continuation = continuation }
    func onEvent(event: SessionEvent) { continuation.yield(event) }
}

/// A token provider from an async closure (typically a call to your backend) returning
/// `ClientToken(value:expiresAt:)`, an object that never prints or returns its key.
public final class ClosureTokenProvider: TokenProvider, @unchecked Sendable {
    private let fetch: @Sendable () async throws -> ClientToken
    public init(_ fetch: @escaping @Sendable () async throws -> ClientToken) { self.fetch = fetch }
    public func fetchToken() async throws -> ClientToken { try await fetch() }
}

/// Tool implementations by name (every call reaches it, including tools added later with
/// `updateConfig`); unknown names are reported to the model as errors.
public final class ToolHandlers: ToolHandler, @unchecked Sendable {
    public typealias Handler = @Sendable (ToolCall) async throws -> String
    private let handlers: [String: Handler]
    public init(_ handlers: [String: Handler] = [:]) { self.handlers = handlers }
    public func callTool(call: ToolCall) async throws -> String {
        guard let handler = handlers[call.name] else {
            throw VoiceError.Other(detail: "no handler for tool \(call.name)")
        }
        return try await handler(call)
    }
}

/// Session state for SwiftUI (an `ObservableObject` where Combine exists): state, live
/// transcripts, levels and the last error, fed by one subscription while `observe()` runs.
@MainActor
public final class VoiceSessionModel {
    public let session: RealtimeVoiceSession
    public private(set) var state: SessionState { willSet { willChange() } }
    public private(set) var userTranscript = "" { willSet { willChange() } }
    public private(set) var assistantTranscript = "" { willSet { willChange() } }
    public private(set) var levels = AudioLevels(inputRms: 0, inputPeak: 0, outputRms: 0, outputPeak: 0) { willSet { willChange() } }
    public private(set) var lastError: String? { willSet { willChange() } }
    private var assistantItem: String?

    public init(session: RealtimeVoiceSession) {
        self.session = session
        self.state = session.state()
    }

    /// Applies events until the session ends or the calling task is cancelled
    /// (`.task { await model.observe() }` in SwiftUI).
    public func observe() async {
        for await event in session.events() {
            apply(event)
        }
    }

    func apply(_ event: SessionEvent) {
        switch event {
        case let .stateChanged(state):
            self.state = state
            if case let .failed(error) = state { lastError = "\(error)" }
        case .userSpeechStarted:
            userTranscript = ""
        case let .userTranscriptDelta(_, delta):
            userTranscript += delta
        case let .userTranscriptFinal(_, text):
            userTranscript = text
        case let .assistantTranscriptDelta(itemId, _, delta):
            if itemId != assistantItem {
                assistantItem = itemId
                assistantTranscript = ""
            }
            assistantTranscript += delta
        case let .assistantTranscriptFinal(_, _, text, _):
            assistantTranscript = text
        case let .audioLevels(levels):
            self.levels = levels
        case let .error(_, message, _):
            lastError = message
        default:
            break
        }
    }

    /// Flips the microphone mute.
    public func toggleMute() throws {
        try session.setMuted(muted: !session.isMuted())
    }

    private func willChange() {
        #if canImport(Combine)
        objectWillChange.send()
        #endif
    }
}

#if canImport(Combine)
extension VoiceSessionModel: ObservableObject {}
#endif
