pluginManagement {
    repositories { google(); mavenCentral(); gradlePluginPortal() }
}
dependencyResolutionManagement {
    repositories { google(); mavenCentral() }
}
rootProject.name = "VoiceWireDemo"
include(":app")
// The VoiceWire Android library (Kotlin bindings + the Rust engine's .so files).
include(":voicewire")
project(":voicewire").projectDir = file("../../bindings/kotlin")
