// Expo config plugin: adds what a voice session needs to a development build.
//  - iOS: NSMicrophoneUsageDescription, and the `audio` background mode when asked for.
//  - Android: RECORD_AUDIO and MODIFY_AUDIO_SETTINGS (INTERNET is always present).
// Written against the config-plugin API only (no dependency on @expo/config-plugins at
// load time, so the file can be required and tested without Expo installed).
const DEFAULT_MESSAGE = 'This app uses the microphone for voice conversations.';

function addAndroidPermissions(manifest, permissions) {
  const root = manifest.manifest ?? manifest;
  root['uses-permission'] = root['uses-permission'] ?? [];
  for (const name of permissions) {
    if (!root['uses-permission'].some((p) => p.$ && p.$['android:name'] === name)) {
      root['uses-permission'].push({ $: { 'android:name': name } });
    }
  }
  return manifest;
}

function withVoiceWire(config, props = {}) {
  const message = props.microphonePermission ?? DEFAULT_MESSAGE;
  config.ios = config.ios ?? {};
  config.ios.infoPlist = { ...(config.ios.infoPlist ?? {}), NSMicrophoneUsageDescription: message };
  if (props.backgroundAudio) {
    const modes = new Set(config.ios.infoPlist.UIBackgroundModes ?? []);
    modes.add('audio');
    config.ios.infoPlist.UIBackgroundModes = [...modes];
  }
  config.android = config.android ?? {};
  const permissions = new Set(config.android.permissions ?? []);
  permissions.add('android.permission.RECORD_AUDIO');
  permissions.add('android.permission.MODIFY_AUDIO_SETTINGS');
  config.android.permissions = [...permissions];
  return config;
}

module.exports = withVoiceWire;
module.exports.addAndroidPermissions = addAndroidPermissions;
