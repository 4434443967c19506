// React hook over VoiceSessionController: state, live transcripts, levels and errors as
// render state; connect/disconnect/sendText/toggleMute/interrupt as stable callbacks.
import { useEffect, useMemo, useSyncExternalStore } from 'react';

import { VoiceSessionController, type VoiceConfig, type VoiceSnapshot } from './VoiceSession';

export type RealtimeVoice = VoiceSnapshot & {
  connect: () => Promise<void>;
  disconnect: () => Promise<void>;
  sendText: (text: string) => Promise<void>;
  toggleMute: () => void;
  interrupt: () => Promise<void>;
};

/**
 * One voice session for a component. The config is read when the component mounts; the
 * session is stopped when it unmounts.
 */
export function useRealtimeVoice(config: VoiceConfig): RealtimeVoice {
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const controller = useMemo(() => new VoiceSessionController(config), []);
  const snapshot = useSyncExternalStore(controller.subscribe, controller.getSnapshot, controller.getSnapshot);
  useEffect(
    () => () => {
      void controller.disconnect();
    },
    [controller],
  );
  return useMemo(
    () => ({
      ...snapshot,
      connect: () => controller.connect(),
      disconnect: () => controller.disconnect(),
      sendText: (text: string) => controller.sendText(text),
      toggleMute: () => controller.toggleMute(),
      interrupt: () => controller.interrupt(),
    }),
    [snapshot, controller],
  );
}
