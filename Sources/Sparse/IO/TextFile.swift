/// Whole text files (an SVG plot, a report), written atomically like every output of the
/// toolkit: to a temporary file beside the target, renamed into place on success.
public enum TextFile {
    public static func write(_ text: String, to path: String) throws {
        let writer = try TextWriter(path: path)
        try writer.write(text)
        try writer.close()
    }
}
