"""The media pipeline: one module per stage, each a plain function from inputs to artifacts.

    script_analysis.run_script_analysis  script    -> <prefix>/script/breakdown.json
    voice.run_voice_synthesis            breakdown -> <prefix>/voice/dialogue.wav, timings.json,
                                                      lines/NNNN-<speaker>.wav
    subtitles.run_subtitles              timings   -> <prefix>/subtitles/subtitles.srt, .vtt,
                                                      events.json

Every stage takes `storage`, `key_prefix`, a `progress(fraction, message)` callback and a
`cancelled()` check, raises `stage.StageCancelled` at its checkpoints, and writes its artifacts
only after its last checkpoint. They block (espeak-ng, ffmpeg): run them in a worker thread.
"""
