"""The media pipeline: one module per stage, each a plain function from inputs to artifacts.

    script_analysis.run_script_analysis  script    -> <prefix>/script/breakdown.json
    voice.run_voice_synthesis            breakdown -> <prefix>/voice/dialogue.wav, timings.json,
                                                      lines/NNNN-<speaker>.wav
    subtitles.run_subtitles              timings   -> <prefix>/subtitles/subtitles.srt, .vtt,
                                                      events.json
    images.run_image_generation          breakdown -> <prefix>/images/<shot>.png, shots.json
    video.run_video_composition          breakdown, timings, shots, subtitles
                                                   -> <prefix>/video/video.mp4, preview.mp4,
                                                      timeline.json
    thumbnail.run_thumbnail              video     -> <prefix>/thumbnail/thumbnail.jpg

Every stage takes `storage` (any `ports.ArtifactStore`), `key_prefix`, a `progress(fraction,
message)` callback and a `cancelled()` check, raises `stage.StageCancelled` at its checkpoints and
`ports.StageInputError` for bad input, and writes its artifacts only after its last checkpoint.
The pipeline knows no runtime: the caller brings the store and turns StageInputError into its own
error. Stages block (speech, torch, ffmpeg): run them in a worker thread.
"""
