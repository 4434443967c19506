import SwiftUI

@main
struct VoiceWireDemoApp: App {
    var body: some Scene {
        WindowGroup { ContentView() }
    }
}
