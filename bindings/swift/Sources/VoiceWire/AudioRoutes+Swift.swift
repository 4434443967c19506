// Swift conveniences for platform audio routes. On iOS create the device with
// `PlatformAudio(options: defaultPlatformAudioOptions(), backend: nil)` (AVAudioSession is driven
// from Rust; with `.app` management, for CallKit, start the voice session from
// `provider(_:didActivate:)`), pass `.platform(audio:)` to the session, and keep
// `routeControl()` for the route picker, the echo-cancellation switch, levels and events.
import Foundation

extension AudioRouteControl {
    /// Route and interruption events: the routes as they are now first (available routes,
    /// then the current route with reason `.initial`), then every change. Ending the
    /// iteration (or cancelling its task) cancels the subscription.
    public func events() -> AsyncStream<PlatformAudioEvent> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            let handle = self.subscribe(listener: RouteEventStreamListener(continuation))
            continuation.onTermination = { _ in handle.cancel() }
        }
    }
}

private final class RouteEventStreamListener: PlatformAudioListener, @unchecked Sendable {
    private let continuation: AsyncStream<PlatformAudioEvent>.Continuation
    init(_ continuation: AsyncStream<PlatformAudioEvent>.Continuation) { self.continuation = continuation }
    func onEvent(event: PlatformAudioEvent) { continuation.yield(event) }
}
