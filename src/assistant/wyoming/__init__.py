"""The Wyoming protocol: serve Home Assistant (speech-to-text, text-to-speech, wake word, the
brain as a conversation agent) and run satellites, one room each.

`wire` reads events with bounds and converts audio; `info`, `asr`, `tts`, `wake` and `handle`
serve one domain each; `services` builds them from the settings; `server` is the listening
side; `satellite` is a room's microphone and speaker, `satellite_link` the server's side of it.
"""
