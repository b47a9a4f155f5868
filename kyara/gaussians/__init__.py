"""Surface-bound 3D Gaussians (#23): shape the mesh lacks (strands, frills, ribbons, wings).

* :mod:`kyara.gaussians.rasterize` - the pure-torch splatting rasteriser (gsplat 1.5 on CUDA when installed)
* :mod:`kyara.gaussians.binding` - Gaussians bound to triangles, posed by skinning the triangles
* :mod:`kyara.gaussians.layer` - the optimisable layer, seeding, densification and pruning
* :mod:`kyara.gaussians.io` - the documented ``gaussians.ply`` and the bake into vertex colours
* :mod:`kyara.gaussians.draw` - drawing a layer over the mesh renders of ``kyara render``/``animate``
* :mod:`kyara.gaussians.bench` - the benchmark row of ``benchmarks/refine.py``

Nothing here imports torch at package import.
"""
