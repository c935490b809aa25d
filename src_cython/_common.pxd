# Types shared by the compiled modules of bpt._core.
from libc.stdint cimport int32_t, int64_t, uint8_t

ctypedef uint8_t bin_t          # binned feature value; the last bin holds missing values
ctypedef int32_t index_t        # sample index


# One node of a fitted tree, as stored in a numpy structured array (NODE_DTYPE).
# The node's value vector lives in a separate (n_nodes, n_values) float64 array.
cdef packed struct node_struct:
    int32_t feature_idx
    double threshold            # raw feature value: x <= threshold goes left
    uint8_t bin_threshold       # binned feature value: bin <= bin_threshold goes left
    uint8_t missing_go_to_left
    uint8_t is_leaf
    int32_t left                # absolute index of the left child in the node array
    int32_t right
    double gain
    int64_t count               # training events in the node
    int32_t depth
