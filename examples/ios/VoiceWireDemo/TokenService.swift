import Foundation
import VoiceWire

/// Asks the app's backend for a short-lived client secret before each session. The API key
/// stays on the backend (see examples/rust `mint_backend`: POST /voice/token answers
/// `{"value": "ek_…", "expires_at": 1760000000, "config_version": 2}`).
struct TokenService {
    /// The backend; the iOS simulator reaches the Mac's localhost directly.
    var url = URL(string: "http://127.0.0.1:8788/voice/token")!
    /// The signed-in user's app token (from your login flow).
    var appToken = "app-token-ana"

    private struct Minted: Decodable {
        let value: String
        let expires_at: UInt64?
    }

    func fetch() async throws -> ClientToken {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("Bearer \(appToken)", forHTTPHeaderField: "Authorization")
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else {
            throw VoiceError.Auth(detail: "token backend answered HTTP \(status)")
        }
        let minted = try JSONDecoder().decode(Minted.self, from: data)
        return ClientToken(value: minted.value, expiresAt: minted.expires_at)
    }
}
