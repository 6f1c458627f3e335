"""emotive.generators.face: the talking portrait.

- :mod:`.motion`: the motion space (52 ARKit blendshapes + head rotation/translation at 25 fps), CSV/JSON export.
- :mod:`.phones`: phone timings (speech-corpus manifest rows, or espeak-ng text timing for development).
- :mod:`.visemes`: phones -> viseme blendshape curves with coarticulation (Cohen & Massaro dominance model).
- :mod:`.expressions`: emotion -> FACS action units (EMFACS prototypes) -> ARKit blendshapes.
- :mod:`.procedural`: procedural motion synthesis (visemes + expression + blinks + head motion + variation),
  the source of the motion model's training data.
- :mod:`.rig` and :mod:`.render`: blendshapes + pose -> landmark displacements -> warped frames -> MP4 (and a
  subtitle track muxed in).
- :mod:`.captions`: subtitle cues burned into the frames.
"""
