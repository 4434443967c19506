// swift-tools-version:5.9
// VoiceWire for iOS and macOS.
//
// Shipping: the Rust engine comes as `VoiceWireFFI.xcframework` (a binary target built by
// `scripts/build-xcframework.sh` on macOS), and `VoiceWire` is the generated UniFFI code
// plus the async/await and SwiftUI layer in Sources/VoiceWire.
//
// Linux (the binding tests in `scripts/interop/40-bindings-swift.sh`): the same Swift
// sources against the C header as a system library, linked with the host
// `libvoicewire_ffi.so`. Both variants compile the same Sources/VoiceWire, so they cannot
// drift apart.
import PackageDescription

#if os(Linux)
let ffiTarget: Target = .systemLibrary(name: "VoiceWireFFI", path: "Sources/VoiceWireFFI")
#else
let ffiTarget: Target = .binaryTarget(name: "VoiceWireFFI", path: "VoiceWireFFI.xcframework")
#endif

let package = Package(
    name: "VoiceWire",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "VoiceWire", targets: ["VoiceWire"]),
    ],
    targets: [
        ffiTarget,
        .target(name: "VoiceWire", dependencies: ["VoiceWireFFI"], path: "Sources/VoiceWire"),
        .testTarget(name: "VoiceWireTests", dependencies: ["VoiceWire"], path: "Tests/VoiceWireTests"),
    ]
)
