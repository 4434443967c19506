import SwiftUI
import VoiceWire

/// One screen: a mic button that starts the session, animated level bars, the live
/// transcripts, and a stop button. Everything comes from `VoiceSessionModel`, which the
/// VoiceWire Swift package feeds from the session's events.
struct ContentView: View {
    @State private var model: VoiceSessionModel?
    @State private var observer: Task<Void, Never>?
    @State private var error: String?

    var body: some View {
        VStack(spacing: 24) {
            Text(stateLabel).font(.headline).foregroundStyle(.secondary)
            LevelBars(level: CGFloat(model?.levels.inputRms ?? 0), tint: .blue)
            LevelBars(level: CGFloat(model?.levels.outputRms ?? 0), tint: .purple)
            ScrollView {
                VStack(alignment: .leading, spacing: 12) {
                    if let user = model?.userTranscript, !user.isEmpty {
                        Text("You: \(user)")
                    }
                    if let answer = model?.assistantTranscript, !answer.isEmpty {
                        Text("Assistant: \(answer)").foregroundStyle(.purple)
                    }
                }
                .frame(maxWidth: .infinity, alignment: .leading)
            }
            if let error = error ?? model?.lastError {
                Text(error).foregroundStyle(.red).font(.footnote)
            }
            HStack(spacing: 32) {
                Button(action: toggleMicrophone) {
                    Image(systemName: isLive ? "mic.fill" : "mic")
                        .font(.system(size: 40))
                        .padding(24)
                        .background(Circle().fill(isLive ? Color.blue.opacity(0.2) : Color.gray.opacity(0.15)))
                }
                .accessibilityLabel(isLive ? "Mute microphone" : "Start talking")
                Button(role: .destructive, action: stop) {
                    Image(systemName: "stop.fill").font(.system(size: 32)).padding(24)
                }
                .disabled(model == nil)
                .accessibilityLabel("Stop")
            }
        }
        .padding()
    }

    private var isLive: Bool {
        if case .live = model?.state { return !(model?.session.isMuted() ?? false) }
        return false
    }

    private var stateLabel: String {
        guard let state = model?.state else { return "Tap the microphone to talk" }
        return "\(state)"
    }

    private func toggleMicrophone() {
        if let model {
            try? model.toggleMute()
            return
        }
        Task { await start() }
    }

    @MainActor
    private func start() async {
        error = nil
        let tokens = TokenService()
        do {
            let session = try RealtimeVoiceSession(
                options: SessionOptions(
                    endpoint: EndpointConfig(apiBase: "https://api.openai.com/v1", relayUrl: nil, model: nil),
                    transport: .webRtc,
                    session: SessionConfig(
                        instructions: "You are a friendly assistant. Keep answers short.",
                        voice: "marin", outputModalities: nil, turnDetection: nil,
                        inputTranscriptionModel: "gpt-4o-transcribe", tools: nil),
                    reconnect: nil, toolTimeoutMs: nil, levelsIntervalMs: 50),
                tokenProvider: ClosureTokenProvider { try await tokens.fetch() },
                toolHandler: ToolHandlers(),
                audio: .platformDefault)
            let model = VoiceSessionModel(session: session)
            self.model = model
            observer = Task { await model.observe() }
            try await session.start()
        } catch {
            self.error = "\(error)"
        }
    }

    private func stop() {
        guard let model else { return }
        Task {
            try? await model.session.stop()
            observer?.cancel()
            self.model = nil
        }
    }
}

/// Seven bars whose heights follow the level on a decibel scale, animated.
struct LevelBars: View {
    let level: CGFloat
    let tint: Color

    var body: some View {
        // -60 dBFS … 0 dBFS mapped to 0 … 1: speech moves the bars, silence leaves them low.
        let position = level > 0.000_001 ? max(0, min(1, (20 * log10(level) + 60) / 60)) : 0
        HStack(alignment: .center, spacing: 6) {
            ForEach(0..<7, id: \.self) { index in
                let shape = 1 - abs(CGFloat(index) - 3) / 4
                RoundedRectangle(cornerRadius: 3)
                    .fill(tint)
                    .frame(width: 8, height: 6 + 54 * position * shape)
            }
        }
        .frame(height: 64)
        .animation(.easeOut(duration: 0.1), value: position)
    }
}
