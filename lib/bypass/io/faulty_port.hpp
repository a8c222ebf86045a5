// FaultyPort: placeholder, being written.
#pragma once
