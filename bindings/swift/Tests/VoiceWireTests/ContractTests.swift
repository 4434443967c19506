// The FFI contract from Swift (swift test on Linux), against the local emulator started by
// scripts/interop/40-bindings-swift.sh.
import Foundation
import XCTest
@testable import VoiceWire

private let apiBase = ProcessInfo.processInfo.environment["VW_API_BASE"] ?? ""
private let apiKey = ProcessInfo.processInfo.environment["VW_TEST_API_KEY"] ?? ""

private func backendTokens(_ key: String) -> ClosureTokenProvider {
    ClosureTokenProvider {
        ClientToken(value: key, expiresAt: UInt64(Date().timeIntervalSince1970) + 600)
    }
}

private func options() -> SessionOptions {
    SessionOptions(
        endpoint: EndpointConfig(apiBase: apiBase, relayUrl: nil, model: nil),
        transport: .webSocket,
        session: SessionConfig(
            instructions: "You are a test agent.", voice: nil, outputModalities: [.text],
            turnDetection: nil, inputTranscriptionModel: nil,
            tools: [FunctionToolConfig(name: "get_weather", description: "Weather", parametersJson: "{\"type\":\"object\"}")]
        ),
        reconnect: ReconnectConfig(enabled: false, maxAttempts: 0, connectTimeoutMs: 10_000),
        toolTimeoutMs: nil,
        levelsIntervalMs: 0
    )
}

private func isFinalAnswer(_ event: SessionEvent) -> Bool {
    if case let .assistantTranscriptFinal(_, _, text, _) = event { return text.contains("sunny") }
    return false
}

private func eventsUntilAnswer(_ session: RealtimeVoiceSession) async throws -> [SessionEvent] {
    var seen: [SessionEvent] = []
    while let event = await session.nextEvent() {
        seen.append(event)
        if isFinalAnswer(event) { return seen }
    }
    throw XCTSkip("unreachable") // the loop only ends when the stream ends
}

private final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [ToolCall] = []
    func add(_ call: ToolCall) { lock.lock(); items.append(call); lock.unlock() }
    var all: [ToolCall] { lock.lock(); defer { lock.unlock() }; return items }
}

private final class Collector: SessionEventListener, @unchecked Sendable {
    private let lock = NSLock()
    private var items: [SessionEvent] = []
    func onEvent(event: SessionEvent) { lock.lock(); items.append(event); lock.unlock() }
    var all: [SessionEvent] { lock.lock(); defer { lock.unlock() }; return items }
}

final class ContractTests: XCTestCase {
    func testTextTurnWithSwiftTokenProviderAndToolHandler() async throws {
        let calls = Recorder()
        let tools = ToolHandlers(["get_weather": { call in
            calls.add(call)
            return "{\"city\":\"Paris\",\"sky\":\"sunny\"}"
        }])
        let session = try RealtimeVoiceSession(options: options(), tokenProvider: backendTokens(apiKey), toolHandler: tools, audio: .noDevice)
        let first = await session.nextEvent()
        XCTAssertEqual(first, .stateChanged(state: .idle))
        try await session.start()
        XCTAssertEqual(session.state(), .live)
        try await session.sendText(text: "What is the weather in Paris?")
        let seen = try await eventsUntilAnswer(session)
        XCTAssertTrue(seen.contains(.stateChanged(state: .live)))
        XCTAssertTrue(seen.contains { if case .assistantTranscriptDelta = $0 { return true }; return false })
        XCTAssertEqual(calls.all.count, 1)
        XCTAssertTrue(calls.all.first?.arguments.contains("Paris") ?? false)
        try await session.stop()
        XCTAssertEqual(session.state(), .closed(reason: .stopped))
    }

    func testBadTokenIsTypedAuthError() async throws {
        let session = try RealtimeVoiceSession(options: options(), tokenProvider: backendTokens("sk-wrong"), toolHandler: ToolHandlers(), audio: .noDevice)
        do {
            try await session.start()
            XCTFail("start succeeded with a bad token")
        } catch VoiceError.Auth {
            if case .failed = session.state() {} else { XCTFail("state \(session.state())") }
        }
        // The event carries the stable snake_case code apps switch on, not a Rust type name.
        while let event = await session.nextEvent() {
            if case let .error(code, _, recoverable) = event {
                XCTAssertEqual(code, "auth")
                XCTAssertFalse(recoverable)
                return
            }
        }
        XCTFail("the stream ended without an Error event")
    }

    func testATokenNeverPrintsItsKey() {
        let key = "ek_secret_value_0123456789"
        let token = ClientToken(value: key, expiresAt: 1_900_000_000)
        for text in [token.description, token.debugDescription, "\(token)", String(describing: token),
                     String(reflecting: token), "\([token])"] {
            XCTAssertFalse(text.contains(key) || text.contains("0123456789"), "the key is printed: \(text)")
        }
        XCTAssertTrue(token.description.contains("redacted"), token.description)
        XCTAssertEqual(token.expiresAt(), 1_900_000_000)
    }

    func testReleasingTheListenerHandleStopsDelivery() async throws {
        let session = try RealtimeVoiceSession(options: options(), tokenProvider: backendTokens(apiKey),
                                               toolHandler: ToolHandlers(["get_weather": { _ in "{\"sky\":\"sunny\"}" }]), audio: .noDevice)
        let collector = Collector()
        var handle: TaskHandle? = session.subscribe(listener: collector)
        try await session.start()
        while !collector.all.contains(.stateChanged(state: .live)) { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertEqual(collector.all.first, .stateChanged(state: .idle))
        XCTAssertNotNil(handle)
        handle = nil // the last reference: deinit cancels the subscription
        let delivered = collector.all.count
        try await session.sendText(text: "What is the weather in Paris?")
        _ = try await eventsUntilAnswer(session)
        XCTAssertEqual(collector.all.count, delivered)
        try await session.stop()
    }

    @MainActor
    func testAsyncStreamAndObservableModel() async throws {
        let session = try RealtimeVoiceSession(options: options(), tokenProvider: backendTokens(apiKey),
                                               toolHandler: ToolHandlers(["get_weather": { _ in "{\"sky\":\"sunny\"}" }]), audio: .noDevice)
        let model = VoiceSessionModel(session: session)
        let observer = Task { await model.observe() }
        try await session.start()
        try await session.sendText(text: "What is the weather in Paris?")
        while !model.assistantTranscript.contains("sunny") { try await Task.sleep(nanoseconds: 10_000_000) }
        try await session.stop()
        while model.state != .closed(reason: .stopped) { try await Task.sleep(nanoseconds: 10_000_000) }
        observer.cancel()
    }
}
