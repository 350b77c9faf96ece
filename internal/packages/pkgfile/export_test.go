package pkgfile

// DocumentValue is the document as Parse reads it, before it checks its
// shape: plain JSON values (json.Number for numbers), for the schema tests.
func DocumentValue(data []byte, filename string) (any, error) {
	if isJSON(data, filename) {
		t := jsonTree(data)
		if len(t.problems) > 0 {
			return nil, &ValidationError{File: filename, Problems: t.problems}
		}
		return t.root, nil
	}
	t := yamlTree(data)
	if len(t.problems) > 0 {
		return nil, &ValidationError{File: filename, Problems: t.problems}
	}
	return t.root, nil
}
