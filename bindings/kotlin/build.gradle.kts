plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.2.20"
}

android {
    namespace = "dev.voicewire"
    compileSdk = 35
    defaultConfig {
        minSdk = 26 // AAudio with the voice-communication preset
        consumerProguardFiles("consumer-rules.pro")
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    // libvoicewire_ffi.so for each ABI, placed by scripts/build-aar.sh.
    sourceSets["main"].jniLibs.srcDirs("src/main/jniLibs")
    // The JVM contract tests run outside Gradle (scripts/interop/40-bindings-kotlin.sh).
    sourceSets["test"].java.srcDirs(emptyList<String>())
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // UniFFI's Kotlin calls the library through JNA; the @aar variant carries libjnidispatch.
    implementation("net.java.dev.jna:jna:5.14.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.8.1")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.8.1")
}
