// Expo config plugin entry: `"plugins": [["@voicewire/react-native", { "microphonePermission": "…" }]]`.
module.exports = require('./plugin/withVoiceWire');
