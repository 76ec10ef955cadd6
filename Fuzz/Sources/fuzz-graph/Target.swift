import FuzzSupport
import Sparse

/// The bytes as a graph file (Matrix Market adjacency or edge list) to `WeightedGraph.read`, then as a node signal and a node list of that graph.
/// Whatever the reader accepts must survive the basic operations; anything else must be a
/// typed error.
func fuzzGraph(_ input: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data = input else { return 0 }
    let path = FuzzFile.write(data, size, suffix: ".graph")
    if let graph = try? WeightedGraph.read(path: path) {
        FuzzFile.exercise(graph.laplacian)
        _ = graph.adjacency
        _ = try? GraphFiles.readSignal(path: path, nodes: graph.nodeCount)
        _ = try? GraphFiles.readNodes(path: path, nodes: graph.nodeCount)
    }
    return 0
}

@main
struct FuzzMain {
    static func main() { runFuzzer(fuzzGraph) }
}
