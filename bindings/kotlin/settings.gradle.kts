// VoiceWire for Android: a library module (the Rust engine as libvoicewire_ffi.so per ABI
// under src/main/jniLibs, built by scripts/build-aar.sh; the UniFFI Kotlin under
// src/main/kotlin/dev/voicewire/generated; the coroutine/Flow layer beside it).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "voicewire"
