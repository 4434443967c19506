// @voicewire/react-native: the VoiceWire engine as a TurboModule (uniffi-bindgen-react-native).
export * from './VoiceSession';
export * from './AudioRoutes';
export { useRealtimeVoice, type RealtimeVoice } from './useRealtimeVoice';
export {
  EndpointConfig,
  FunctionToolConfig,
  ManualAudio,
  OutputModality,
  TransportKind,
  TurnDetectionConfig,
  type ReconnectConfig,
  type SessionConfig,
} from './generated/voicewire_ffi';
