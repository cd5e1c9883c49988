package jsonscan

import "fmt"

// Bool consumes true or false.
func (s *Scanner) Bool() (bool, error) {
	switch {
	case s.Peek() == 't' && s.lit("true"):
		return true, nil
	case s.Peek() == 'f' && s.lit("false"):
		return false, nil
	}
	return false, fmt.Errorf("%w: want true or false", ErrType)
}
