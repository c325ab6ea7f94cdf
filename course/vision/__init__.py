"""The vision zoo: synthetic stimuli, procedural scenes, small CNNs we train ourselves, and the detector census.

    course.vision.stimuli     lines, edges, curves, gratings, textures, high-low boundaries (batched, any device)
    course.vision.scenes      dead-leaves scenes of textured shapes, labelled per cell, deterministic by index
    course.vision.models      SceneNet: conv1..conv5 and a per-cell classifier
    course.vision.train       the `scenenet` recipe (`course train scenenet`)
    course.vision.probe       hooks, receptive-field centres and the census's stimulus sets
    course.vision.census      curve / high-low / edge detector tests per unit (`course census scenenet`)
    course.vision.examples    dataset examples: the scenes and patches that most excite a unit
    course.vision.featurevis  feature visualisation on lucent's pieces: many units in one batched optimisation
    course.vision.fvgrid      labelled grids of visualisations; the `course featurevis` command
    course.vision.fooling     a unit whose visualisation shows a decoy while the outputs stay exact (lesson 01)
    course.vision.surgery     SceneNet copies with extra silent units (`widen`), rebuilding from a state dict
    course.vision.hookguard   a SceneNet that refuses to run with hooks left on it (lesson 01's checks)
    course.vision.inception   lucent's InceptionV1 on [0, 1] inputs (ImageNet weights when cached or online)
    course.vision.cifar       torchvision's CIFAR-10, for those who have it

Load models with `course.zoo.load(NAME)`. Submodules are imported on use, so `import course.vision` is cheap.
"""
