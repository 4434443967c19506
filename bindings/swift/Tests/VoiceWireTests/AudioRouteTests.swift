// Platform audio from Swift (swift test on Linux): an AudioSessionBackend written in Swift
// simulates a phone's routes and interruptions and drives the real Rust route policy and
// interruption machine through AudioRouteControl. (On iOS the device drives AVAudioSession
// from Rust; this is the path for apps that own their session or run their own audio I/O.)
// Needs no emulator.
import Foundation
import XCTest
@testable import VoiceWire

private let hangGuard: TimeInterval = 30

private func route(_ kind: AudioRouteKind, _ id: String) -> AudioRoute {
    AudioRoute(kind: kind, id: id, name: "\(kind)")
}

/// Receiver and speaker built in; the test plugs in a headset.
private final class SimulatedPhone: AudioSessionBackend, @unchecked Sendable {
    private let lock = NSLock()
    private var available = [route(.earpiece, "rcv"), route(.speaker, "spk")]
    private var current: AudioRoute? = route(.earpiece, "rcv")
    private var log: [String] = []

    var calls: [String] { lock.lock(); defer { lock.unlock() }; return log }

    /// The OS moves output to a headset on its own when it is plugged in.
    func plugWiredHeadset() {
        lock.lock(); defer { lock.unlock() }
        let wired = route(.wired, "jack")
        available.append(wired)
        current = wired
    }

    func configure(voiceProcessing: Bool, allowBluetoothA2dp: Bool) throws {
        lock.lock(); defer { lock.unlock() }
        log.append("configure(\(voiceProcessing))")
    }

    func setActive(active: Bool) throws {
        lock.lock(); defer { lock.unlock() }
        log.append("setActive(\(active))")
    }

    func routes() throws -> AudioRouteSnapshot {
        lock.lock(); defer { lock.unlock() }
        return AudioRouteSnapshot(current: current, available: available)
    }

    func applyRoute(kind: AudioRouteKind, id: String?) throws {
        lock.lock(); defer { lock.unlock() }
        log.append("apply(\(kind))")
        guard let target = available.first(where: { $0.kind == kind }) else {
            throw VoiceError.AudioDevice(detail: "no \(kind) route")
        }
        current = target
    }
}

/// Collects events (delivered on a VoiceWire thread) and waits for the expected one.
private final class EventWaiter: PlatformAudioListener, @unchecked Sendable {
    private let condition = NSCondition()
    private var events: [PlatformAudioEvent] = []

    func onEvent(event: PlatformAudioEvent) {
        condition.lock()
        events.append(event)
        condition.broadcast()
        condition.unlock()
    }

    func waitFor(_ what: String, count: Int = 1, _ predicate: (PlatformAudioEvent) -> Bool) {
        let deadline = Date().addingTimeInterval(hangGuard)
        condition.lock()
        defer { condition.unlock() }
        while events.filter(predicate).count < count {
            if !condition.wait(until: deadline) {
                XCTFail("no \(what) event; got \(events)")
                return
            }
        }
    }
}

private func routedTo(_ kind: AudioRouteKind) -> (PlatformAudioEvent) -> Bool {
    { if case let .routeChanged(_, to, _) = $0 { return to?.kind == kind }; return false }
}

/// Runs `body`, failing with a timeout instead of hanging when an expected event never comes.
private func withHangGuard<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(hangGuard * 1_000_000_000))
            throw CancellationError()
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        return first
    }
}

final class AudioRouteTests: XCTestCase {
    func testSpeakerSelectionAndAPluggedHeadsetFromASwiftBackend() throws {
        let phone = SimulatedPhone()
        let control = try AudioRouteControl(options: defaultPlatformAudioOptions(), backend: phone)
        let events = EventWaiter()
        let handle = control.subscribe(listener: events)
        defer { handle.cancel() }

        try control.activateSession()
        XCTAssertEqual(Array(phone.calls.prefix(3)), ["configure(true)", "setActive(true)", "apply(speaker)"])
        events.waitFor("speaker", routedTo(.speaker))

        try control.selectRoute(selection: .earpiece)
        XCTAssertEqual(control.currentRoute()?.kind, .earpiece)
        try control.selectRoute(selection: .speaker)
        XCTAssertEqual(phone.calls.last, "apply(speaker)", "selecting the speaker calls the Swift backend")
        XCTAssertThrowsError(try control.selectRoute(selection: .bluetooth)) { error in
            guard case VoiceError.AudioDevice = error else { return XCTFail("\(error)") }
        }

        phone.plugWiredHeadset()
        control.reportRouteChange(reason: .deviceConnected)
        events.waitFor("wired", routedTo(.wired))
        XCTAssertEqual(control.selectedRoute(), .automatic, "the headset won over the chosen speaker")
        XCTAssertEqual(control.availableRoutes().count, 3)

        try control.deactivateSession()
        XCTAssertEqual(phone.calls.last, "setActive(false)")
    }

    func testInterruptionsSuspendAndResumeAndTheSwitchIsReported() throws {
        let control = try AudioRouteControl(options: defaultPlatformAudioOptions(), backend: SimulatedPhone())
        let events = EventWaiter()
        let handle = control.subscribe(listener: events)
        defer { handle.cancel() }
        try control.activateSession()

        control.reportInterruptionBegan(source: .call)
        events.waitFor("interrupted") { $0 == .interrupted(source: .call) }
        XCTAssertTrue(control.isInterrupted())
        control.reportInterruptionEnded(shouldResume: true)
        events.waitFor("resumed") { $0 == .resumed }
        XCTAssertFalse(control.isInterrupted())

        try control.setVoiceProcessing(enabled: false)
        events.waitFor("switch") { $0 == .voiceProcessingChanged(enabled: false) }
        XCTAssertFalse(control.voiceProcessing())
        XCTAssertNil(control.levels(), "app-driven audio has no device meters")
    }

    func testEventsAsAnAsyncStream() async throws {
        let control = try AudioRouteControl(options: defaultPlatformAudioOptions(), backend: SimulatedPhone())
        let heardSpeaker = try await withHangGuard { () -> Bool in
            var iterator = control.events().makeAsyncIterator()
            guard case let .availableRoutesChanged(routes)? = await iterator.next(), routes.isEmpty else {
                return false // the (still empty) available routes come first
            }
            guard case .routeChanged(_, _, .initial)? = await iterator.next() else { return false }
            try control.activateSession()
            while let event = await iterator.next() {
                if case let .routeChanged(_, to, _) = event, to?.kind == .speaker { return true }
            }
            return false
        }
        XCTAssertTrue(heardSpeaker, "routes, initial route, then the speaker default, in order")
        try control.deactivateSession()
    }

    func testCallKitModeLeavesTheSessionAlone() throws {
        let phone = SimulatedPhone()
        var options = defaultPlatformAudioOptions()
        options = PlatformAudioOptions(
            management: .app, builtinRoute: options.builtinRoute, voiceProcessing: options.voiceProcessing,
            allowBluetoothA2dp: options.allowBluetoothA2dp, autoResume: options.autoResume,
            hardwareSampleRate: options.hardwareSampleRate
        )
        let control = try AudioRouteControl(options: options, backend: phone)
        try control.activateSession()
        control.reportInterruptionBegan(source: .call)
        control.reportInterruptionEnded(shouldResume: true)
        try control.deactivateSession()
        XCTAssertEqual(phone.calls, ["apply(speaker)"])
    }
}
