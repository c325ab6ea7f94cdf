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
    course.vision.curves      curve detectors measured: tuning, FWHM, echo, selectivity, the family (lesson 02)
    course.vision.curve_plots lesson 02's figures
    course.vision.frequency   grating, texture and high-low boundary sweeps, tuning curves, response maps (lesson 03)
    course.vision.expanded    expanded weights: the linear path through a stack of convs, ReLUs as the identity
    course.vision.nmf         non-negative matrix factorisation by multiplicative updates
    course.vision.highlow     the high-low family's expanded weights factorised into HF and LF factors
    course.vision.frequency_plots  lesson 03's figures
    course.vision.circuits    interventions: ablate units with hooks that never outlive the call, per-class recall;
                              direct weights, activation patching, the rest of a network from a cached layer (lesson 04)
    course.vision.editing     weight edits on copies: drop a family's negative inputs, substitute hand-built units
    course.vision.equivariance  circulant and equivariant fits of family-to-family weights, shuffled controls
    course.vision.handbuilt   a curve detector written by hand from the line detectors below; calibration, tuning correlation
    course.vision.workbench   scenenet's curve circuit measured once, for fast what-ifs (lesson 04's check and page)
    course.vision.circuit_plots  lesson 04's figures
    course.vision.lenses      lesson 00's experiments (attribution, the sanity cascade, probes, ablation) on scenenet
    course.vision.lens_plots  lesson 00's figures
    course.vision.inception   lucent's InceptionV1 on [0, 1] inputs (ImageNet weights when cached or online)
    course.vision.cifar       torchvision's CIFAR-10, for those who have it

Load models with `course.zoo.load(NAME)`. Submodules are imported on use, so `import course.vision` is cheap.
"""
