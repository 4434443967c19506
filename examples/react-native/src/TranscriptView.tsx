// The conversation so far: finished turns are kept, the current ones stream in as the hook
// updates `userTranscript` and `assistantTranscript`.
import React, { useEffect, useRef, useState } from 'react';
import { ScrollView, StyleSheet, Text } from 'react-native';

type Line = { who: 'you' | 'assistant'; text: string };

export function TranscriptView({ user, assistant }: { user: string; assistant: string }) {
  const [history, setHistory] = useState<Line[]>([]);
  const previous = useRef({ user: '', assistant: '' });
  const scroll = useRef<ScrollView>(null);

  // When a transcript is replaced by a new turn's, the finished one moves into the history.
  useEffect(() => {
    const done: Line[] = [];
    if (previous.current.user && !user.startsWith(previous.current.user)) {
      done.push({ who: 'you', text: previous.current.user });
    }
    if (previous.current.assistant && !assistant.startsWith(previous.current.assistant)) {
      done.push({ who: 'assistant', text: previous.current.assistant });
    }
    if (done.length > 0) setHistory((h) => [...h, ...done]);
    previous.current = { user, assistant };
  }, [user, assistant]);

  return (
    <ScrollView ref={scroll} style={styles.list} onContentSizeChange={() => scroll.current?.scrollToEnd()}>
      {history.map((line, i) => (
        <Text key={i} style={line.who === 'you' ? styles.user : styles.assistant}>
          {line.who === 'you' ? 'You: ' : 'Assistant: '}
          {line.text}
        </Text>
      ))}
      {user ? <Text style={styles.user}>You: {user}</Text> : null}
      {assistant ? <Text style={styles.assistant}>Assistant: {assistant}</Text> : null}
    </ScrollView>
  );
}

const styles = StyleSheet.create({
  list: { flex: 1 },
  user: { fontSize: 16, marginBottom: 8 },
  assistant: { fontSize: 16, marginBottom: 8, color: '#6a1b9a' },
});
