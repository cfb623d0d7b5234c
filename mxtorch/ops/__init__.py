"""Op families: importing this package registers every converter (see `_registry`)."""

from . import _registry  # noqa: F401

# nn families (conv/norm/activation/pooling/softmax incl. loss heads and identity roles)
from . import activation, conv, norm, pooling, softmax  # noqa: F401,E402

# tensor families (shape/indexing/resampling, arithmetic, reductions, 2.x numpy ops, misc)
from . import arith, misc, npx, reduce, shape  # noqa: E402,F401

# issue 17 families: resizing/adaptive pooling/LRN, shape/index/sort ops, linear algebra, samplers
from . import indexing, linalg, random, resize  # noqa: E402,F401
# detection: boxes and NMS, anchors and proposals (issue 18)
from . import boxes, proposal  # noqa: E402,F401

# detection: regions of interest and deformable convolution/pooling (issue 18)
from . import deformable, roi  # noqa: E402,F401
# sequence families (fused RNN, attention and masks, control flow)
from . import attention, control, rnn  # noqa: E402,F401
