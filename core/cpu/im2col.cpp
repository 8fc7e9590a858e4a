// CPU im2col tiles for convolution (filled by the conv work).
