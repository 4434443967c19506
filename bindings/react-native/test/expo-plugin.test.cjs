// The Expo config plugin on plain config objects (no Expo needed): microphone permission on
// iOS (custom text, optional background audio), RECORD_AUDIO and MODIFY_AUDIO_SETTINGS on
// Android, nothing the app already had lost or duplicated.
const assert = require('node:assert/strict');
const path = require('node:path');

const plugin = require(path.join(__dirname, '..', 'app.plugin.js'));

const fresh = plugin({ name: 'demo' });
assert.equal(
  fresh.ios.infoPlist.NSMicrophoneUsageDescription,
  'This app uses the microphone for voice conversations.',
);
assert.equal(fresh.ios.infoPlist.UIBackgroundModes, undefined);
assert.deepEqual(fresh.android.permissions.sort(), [
  'android.permission.MODIFY_AUDIO_SETTINGS',
  'android.permission.RECORD_AUDIO',
]);

const existing = plugin(
  {
    name: 'demo',
    ios: { infoPlist: { UIBackgroundModes: ['fetch'], CFBundleDisplayName: 'Demo' } },
    android: { permissions: ['android.permission.CAMERA', 'android.permission.RECORD_AUDIO'] },
  },
  { microphonePermission: 'Talk to the assistant.', backgroundAudio: true },
);
assert.equal(existing.ios.infoPlist.NSMicrophoneUsageDescription, 'Talk to the assistant.');
assert.equal(existing.ios.infoPlist.CFBundleDisplayName, 'Demo');
assert.deepEqual(existing.ios.infoPlist.UIBackgroundModes.sort(), ['audio', 'fetch']);
assert.deepEqual(existing.android.permissions.sort(), [
  'android.permission.CAMERA',
  'android.permission.MODIFY_AUDIO_SETTINGS',
  'android.permission.RECORD_AUDIO',
]);

const manifest = { manifest: { 'uses-permission': [{ $: { 'android:name': 'android.permission.RECORD_AUDIO' } }] } };
plugin.addAndroidPermissions(manifest, [
  'android.permission.RECORD_AUDIO',
  'android.permission.MODIFY_AUDIO_SETTINGS',
]);
assert.deepEqual(
  manifest.manifest['uses-permission'].map((p) => p.$['android:name']).sort(),
  ['android.permission.MODIFY_AUDIO_SETTINGS', 'android.permission.RECORD_AUDIO'],
);
console.log('expo plugin: 3 checks passed');
